#include "client/cli/pipeline_command.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/speech/stats_delta.h"

namespace speech {

int PrintError(std::ostream& err, const absl::Status& status, int exit_code) {
  err << "error: " << absl::StatusCodeToString(status.code()) << ": " << status.message() << "\n";
  return exit_code;
}

int InputErrorExitCode(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitRpcError;
}

absl::StatusOr<int> GetPositiveIntFlag(const CommandLine& args, absl::string_view name,
                                       int default_value) {
  absl::StatusOr<int64_t> value = args.GetInt(name, default_value);
  if (!value.ok()) return value.status();
  if (*value <= 0 || *value > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a positive number; was ", *value));
  }
  return static_cast<int>(*value);
}

absl::Status WriteFile(const std::string& path, absl::string_view bytes) {
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", path));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const int write_error = errno;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    return absl::ErrnoToStatus(written ? errno : write_error, absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

std::string FormatMs(absl::Duration duration) {
  const double ms = absl::ToDoubleMilliseconds(duration);
  return ms < 10 ? absl::StrFormat("%.1f ms", ms) : absl::StrFormat("%.0f ms", ms);
}

absl::StatusOr<inference::ModelStatisticsResponse> SnapshotStatistics(
    const InferenceClient& client) {
  return client.ModelStatistics(/*name=*/"", /*version=*/"");
}

std::vector<std::string> PipelineModels(const InferenceClient& client, const std::string& model,
                                        const std::string& version) {
  std::vector<std::string> models = {model};
  absl::StatusOr<inference::ModelConfigResponse> config = client.ModelConfig(model, version);
  if (!config.ok()) return models;
  for (const auto& step : config->config().ensemble_scheduling().step()) {
    if (std::find(models.begin(), models.end(), step.model_name()) == models.end()) {
      models.push_back(step.model_name());
    }
  }
  return models;
}

void PrintServerTimings(const PipelineContext& context,
                        const absl::StatusOr<inference::ModelStatisticsResponse>& before) {
  std::ostream& out = *context.out;
  if (!before.ok()) {
    out << "server time: no statistics (" << absl::StatusCodeToString(before.status().code())
        << ": " << before.status().message() << ")\n";
    return;
  }
  const absl::StatusOr<inference::ModelStatisticsResponse> after =
      SnapshotStatistics(*context.client);
  if (!after.ok()) {
    out << "server time: no statistics (" << absl::StatusCodeToString(after.status().code()) << ": "
        << after.status().message() << ")\n";
    return;
  }
  const std::vector<ModelPhaseTimes> rows = DiffModelStatistics(
      *before, *after, PipelineModels(*context.client, context.model, context.version));
  out << "server time per request, ms (ModelStatistics deltas):\n" << FormatPhaseTable(rows);
}

}  // namespace speech
