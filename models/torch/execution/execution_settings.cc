#include "models/torch/execution/execution_settings.h"

#include <sched.h>

#include <algorithm>
#include <cmath>
#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

constexpr int kMaxThreads = 1024;

// The parameter's string_value, or nullopt when the configuration does not set it.
std::optional<std::string> Parameter(const inference::ModelConfig& config, const char* name) {
  auto it = config.parameters().find(name);
  if (it == config.parameters().end()) return std::nullopt;
  return it->second.string_value();
}

absl::Status BadValue(const char* name, absl::string_view expected, absl::string_view got) {
  return absl::InvalidArgumentError(
      absl::StrCat("parameters '", name, "': expected ", expected, "; got \"", got, "\""));
}

absl::StatusOr<std::optional<bool>> ReadBool(const inference::ModelConfig& config,
                                             const char* name) {
  const std::optional<std::string> value = Parameter(config, name);
  if (!value.has_value()) return std::optional<bool>();
  if (*value == "true") return std::optional<bool>(true);
  if (*value == "false") return std::optional<bool>(false);
  return BadValue(name, "\"true\" or \"false\"", *value);
}

// An integer from 0 to `max`, 0 when unset; `expected` says what it takes when it is not.
absl::StatusOr<int> ReadBoundedInt(const inference::ModelConfig& config, const char* name, int max,
                                   absl::string_view expected) {
  const std::optional<std::string> value = Parameter(config, name);
  if (!value.has_value()) return 0;
  int number = 0;
  if (!absl::SimpleAtoi(*value, &number) || number < 0 || number > max) {
    return BadValue(name, expected, *value);
  }
  return number;
}

absl::StatusOr<int> ReadThreadCount(const inference::ModelConfig& config, const char* name) {
  return ReadBoundedInt(config, name, kMaxThreads,
                        absl::StrCat("an integer from 0 (the default) to ", kMaxThreads));
}

}  // namespace

absl::StatusOr<ExecutionSettings> ExecutionSettingsFromConfig(const inference::ModelConfig& config,
                                                              int instances, int usable_cores) {
  ExecutionSettings settings;
  absl::StatusOr<std::optional<bool>> inference_mode = ReadBool(config, kInferenceModeParameter);
  if (!inference_mode.ok()) return inference_mode.status();
  settings.inference_mode = inference_mode->value_or(true);
  absl::StatusOr<std::optional<bool>> disable_optimized =
      ReadBool(config, kDisableOptimizedExecutionParameter);
  if (!disable_optimized.ok()) return disable_optimized.status();
  settings.optimized_execution = !disable_optimized->value_or(false);
  absl::StatusOr<std::optional<bool>> profiling = ReadBool(config, kEnableJitProfilingParameter);
  if (!profiling.ok()) return profiling.status();
  settings.jit_profiling = *profiling;
  absl::StatusOr<std::optional<bool>> executor = ReadBool(config, kEnableJitExecutorParameter);
  if (!executor.ok()) return executor.status();
  settings.jit_executor = *executor;

  absl::StatusOr<int> intra = ReadThreadCount(config, kIntraOpThreadCountParameter);
  if (!intra.ok()) return intra.status();
  settings.intra_op_threads =
      *intra > 0 ? *intra : std::max(1, (usable_cores - 1) / std::max(1, instances));
  absl::StatusOr<int> inter = ReadThreadCount(config, kInterOpThreadCountParameter);
  if (!inter.ok()) return inter.status();
  settings.inter_op_threads = *inter;
  absl::StatusOr<std::optional<bool>> reject_nan = ReadBool(config, kRejectNanOutputsParameter);
  if (!reject_nan.ok()) return reject_nan.status();
  settings.reject_nan_outputs = reject_nan->value_or(false);
  absl::StatusOr<int> timeout_ms =
      ReadBoundedInt(config, kExecutionTimeoutParameter, kMaxExecutionTimeoutMs,
                     absl::StrCat("milliseconds from 0 (no limit) to ", kMaxExecutionTimeoutMs));
  if (!timeout_ms.ok()) return timeout_ms.status();
  settings.execution_timeout = absl::Milliseconds(*timeout_ms);
  return settings;
}

int UsableCores() {
  cpu_set_t mask;
  CPU_ZERO(&mask);
  int cores = sched_getaffinity(0, sizeof(mask), &mask) == 0 ? CPU_COUNT(&mask) : 1;
  // cgroup v2: "max 100000" (no limit) or "<quota> <period>" in microseconds.
  std::ifstream cpu_max("/sys/fs/cgroup/cpu.max");
  std::string quota_text;
  double period = 0;
  if (cpu_max >> quota_text >> period && quota_text != "max" && period > 0) {
    double quota = 0;
    if (absl::SimpleAtod(quota_text, &quota) && quota > 0) {
      cores = std::min(cores, static_cast<int>(std::ceil(quota / period)));
    }
  }
  return std::max(1, cores);
}

std::string DescribeExecutionSettings(const ExecutionSettings& settings) {
  auto optional_bool = [](const std::optional<bool>& value) -> const char* {
    if (!value.has_value()) return "unchanged";
    return *value ? "on" : "off";
  };
  return absl::StrCat(
      "intra-op threads ", settings.intra_op_threads, ", inter-op threads ",
      settings.inter_op_threads > 0 ? absl::StrCat(settings.inter_op_threads) : "default",
      settings.inference_mode ? ", inference mode" : ", no-grad mode",
      settings.optimized_execution ? ", optimized execution" : ", optimized execution disabled",
      ", JIT profiling ", optional_bool(settings.jit_profiling), ", JIT executor ",
      optional_bool(settings.jit_executor),
      settings.reject_nan_outputs ? ", NaN outputs rejected" : "",
      settings.execution_timeout > absl::ZeroDuration()
          ? absl::StrCat(", execution timeout ",
                         absl::ToInt64Milliseconds(settings.execution_timeout), " ms")
          : "");
}

}  // namespace speech
