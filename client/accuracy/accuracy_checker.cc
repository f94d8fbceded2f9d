// accuracy_checker: sends a data set through a KServe v2 gRPC inference server under concurrent
// load and compares every output of every request with the model's TorchScript file run
// in-process on that request alone (see --help).
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "client/accuracy/accuracy_flags.h"
#include "client/accuracy/accuracy_run.h"
#include "client/accuracy/compare/accuracy_metrics.h"
#include "client/accuracy/compare/accuracy_report.h"
#include "client/accuracy/progress_log.h"
#include "client/accuracy/reference/model_files.h"
#include "client/accuracy/reference/reference_model.h"
#include "client/inference_client.h"
#include "client/perf/inputs/perf_inputs.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int Fail(int code, const std::string& message) {
  std::cerr << "error: " << message << std::endl;
  if (code == kExitUsage) std::cerr << "run with --help for the flags" << std::endl;
  return code;
}

// Errors about what the flags name (files, data sets) are usage errors; the rest are failures.
int ExitCodeOf(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
                 status.code() == absl::StatusCode::kNotFound
             ? kExitUsage
             : kExitFailed;
}

std::vector<OutputSpec> OutputSpecsOf(const inference::ModelConfig& config) {
  std::vector<OutputSpec> specs;
  for (const inference::ModelOutput& output : config.output()) {
    specs.push_back({output.name(), std::string(DataTypeWireName(output.data_type()))});
  }
  return specs;
}

// The reference outputs of every request, in order; stops at the first that fails.
absl::StatusOr<std::vector<std::vector<HostTensor>>> ReferenceOutputs(
    ReferenceModel& reference, const std::vector<inference::ModelInferRequest>& requests) {
  ProgressLog::Options progress_options;
  progress_options.total = static_cast<int64_t>(requests.size());
  progress_options.prefix = "reference";
  absl::StatusOr<std::unique_ptr<ProgressLog>> progress = ProgressLog::Create(progress_options);
  if (!progress.ok()) return progress.status();
  std::vector<std::vector<HostTensor>> outputs;
  for (size_t s = 0; s < requests.size(); ++s) {
    absl::StatusOr<std::vector<HostTensor>> inputs = RequestInputs(requests[s]);
    absl::StatusOr<std::vector<HostTensor>> result =
        inputs.ok() ? reference.Run(*inputs) : inputs.status();
    if (!result.ok()) {
      return absl::Status(
          result.status().code(),
          absl::StrCat("the reference failed on sample ", s, " (",
                       DescribeRequestInputs(requests[s]), "): ", result.status().message()));
    }
    outputs.push_back(*std::move(result));
    (*progress)->Record(false);
  }
  return outputs;
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Connects and builds the data set's requests from the server's metadata.
absl::StatusOr<std::vector<inference::ModelInferRequest>> BuildRequests(
    const InferenceClient& client, const AccuracyFlags& flags, PerfInputOptions inputs) {
  if (absl::Status connected = client.WaitForConnected(flags.connect_timeout); !connected.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cannot reach ", flags.url, ": ", connected.message()));
  }
  absl::StatusOr<inference::ModelMetadataResponse> metadata =
      client.ModelMetadata(inputs.model, inputs.version);
  if (!metadata.ok()) {
    return absl::UnavailableError(absl::StrCat("model ", inputs.model, " version ", inputs.version,
                                               " on ", flags.url, ": ",
                                               metadata.status().ToString()));
  }
  return BuildPerfRequests(*metadata, inputs);
}

int Run(const AccuracyFlags& flags) {
  absl::StatusOr<ModelFiles> files =
      FindModelFiles(flags.model_repository, flags.inputs.model, flags.inputs.version);
  if (!files.ok()) return Fail(ExitCodeOf(files.status()), std::string(files.status().message()));
  absl::StatusOr<std::unique_ptr<ReferenceModel>> reference =
      ReferenceModel::Create({files->model_path, files->config, flags.device});
  if (!reference.ok()) return Fail(kExitFailed, std::string(reference.status().message()));

  InferenceClient::Options client_options;
  client_options.target = flags.url;
  client_options.default_deadline = flags.request_timeout;
  absl::StatusOr<std::unique_ptr<InferenceClient>> client = InferenceClient::Create(client_options);
  if (!client.ok()) return Fail(kExitUsage, std::string(client.status().message()));
  PerfInputOptions inputs = flags.inputs;
  inputs.version = files->version;
  inputs.model_batches = files->config.max_batch_size() > 0;
  absl::StatusOr<std::vector<inference::ModelInferRequest>> requests =
      BuildRequests(**client, flags, inputs);
  if (!requests.ok()) {
    return Fail(ExitCodeOf(requests.status()), std::string(requests.status().message()));
  }
  std::cerr << "accuracy_checker: " << flags.inputs.model << " version " << files->version << ": "
            << requests->size() << " samples x " << flags.run.repeat << " repeats at concurrency "
            << flags.run.concurrency << ", reference " << files->model_path << " on "
            << flags.device << std::endl;
  absl::StatusOr<std::vector<std::vector<HostTensor>>> references =
      ReferenceOutputs(**reference, *requests);
  if (!references.ok()) return Fail(kExitFailed, std::string(references.status().message()));

  ProgressLog::Options progress_options;
  progress_options.total = static_cast<int64_t>(requests->size()) * flags.run.repeat;
  absl::StatusOr<std::unique_ptr<ProgressLog>> progress = ProgressLog::Create(progress_options);
  if (!progress.ok()) return Fail(kExitFailed, std::string(progress.status().message()));
  const InferenceClient& server = **client;
  absl::StatusOr<std::vector<RequestResult>> results = RunAccuracy(
      flags.run, *requests, *references,
      [&](const inference::ModelInferRequest& request) {
        return server.Infer(request, flags.request_timeout);
      },
      progress->get());
  if (!results.ok()) return Fail(kExitFailed, std::string(results.status().message()));

  const AccuracySummary summary =
      SummarizeAccuracy(OutputSpecsOf(files->config), *results, flags.thresholds);
  const RunDescription run{flags.inputs.model, files->version,
                           files->model_path,  static_cast<int64_t>(requests->size()),
                           flags.run.repeat,   flags.run.concurrency,
                           flags.thresholds};
  std::cout << FormatAccuracyTable(summary, *results) << std::flush;
  if (absl::Status written = WriteFile(flags.csv_file, FormatAccuracyCsv(summary, *results, run));
      !written.ok()) {
    return Fail(kExitFailed, std::string(written.message()));
  }
  if (summary.passed) return 0;
  std::vector<std::string> sample_inputs;
  for (const inference::ModelInferRequest& request : *requests) {
    sample_inputs.push_back(DescribeRequestInputs(request));
  }
  for (absl::string_view line :
       absl::StrSplit(DescribeFailure(summary, *results, sample_inputs, flags.thresholds), '\n',
                      absl::SkipEmpty())) {
    std::cerr << "FAIL: " << line << "\n";
  }
  std::cerr << std::flush;
  return kExitFailed;
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<speech::AccuracyFlags> flags = speech::ParseAccuracyFlags(args);
  if (!flags.ok()) return speech::Fail(speech::kExitUsage, std::string(flags.status().message()));
  if (flags->help) {
    std::cout << speech::AccuracyUsage();
    return 0;
  }
  return speech::Run(*flags);
}
