// How LibTorch runs one model's instances: the PyTorch backend's execution parameters, read from
// a model configuration's `parameters` under the names Triton users already write, with
// defaults that do not oversubscribe the cores this process may use, and which results the
// instance refuses.
#ifndef SPEECH_MODELS_TORCH_EXECUTION_EXECUTION_SETTINGS_H_
#define SPEECH_MODELS_TORCH_EXECUTION_EXECUTION_SETTINGS_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/model_config.pb.h"

namespace speech {

// The parameter names (Triton's PyTorch backend).
inline constexpr char kInferenceModeParameter[] = "INFERENCE_MODE";
inline constexpr char kDisableOptimizedExecutionParameter[] = "DISABLE_OPTIMIZED_EXECUTION";
inline constexpr char kEnableJitProfilingParameter[] = "ENABLE_JIT_PROFILING";
inline constexpr char kEnableJitExecutorParameter[] = "ENABLE_JIT_EXECUTOR";
inline constexpr char kIntraOpThreadCountParameter[] = "INTRA_OP_THREAD_COUNT";
inline constexpr char kInterOpThreadCountParameter[] = "INTER_OP_THREAD_COUNT";
// Ours: "true" fails a batch whose floating-point outputs hold a NaN.
inline constexpr char kRejectNanOutputsParameter[] = "REJECT_NAN_OUTPUTS";
// Ours: milliseconds a batch's forward() may run before its requests fail; "0" (the default) or
// unset means no limit.
inline constexpr char kExecutionTimeoutParameter[] = "EXECUTION_TIMEOUT_MS";
// The longest EXECUTION_TIMEOUT_MS accepted: one hour.
inline constexpr int kMaxExecutionTimeoutMs = 3600 * 1000;

struct ExecutionSettings {
  // INFERENCE_MODE: forward() under c10::InferenceMode (true) or under NoGradGuard (false).
  bool inference_mode = true;
  // !DISABLE_OPTIMIZED_EXECUTION: the graph executor's optimisation passes (a thread-local
  // LibTorch setting, set by the instance's thread around each run).
  bool optimized_execution = true;
  // ENABLE_JIT_PROFILING and ENABLE_JIT_EXECUTOR: the profiling executor, which records the
  // shapes of the first runs and specialises the graph for them. Process-wide in LibTorch, so
  // they are set when an instance is created and the last model loaded wins; unset leaves
  // LibTorch's (or the previous model's) setting.
  std::optional<bool> jit_profiling;
  std::optional<bool> jit_executor;
  // INTRA_OP_THREAD_COUNT: the OpenMP threads of one instance's runs (set per instance thread).
  // Default: the usable cores but one (left to the server's network and batching threads)
  // divided among the model's instances, at least 1, so that every instance busy at once does
  // not oversubscribe the cores: on 2 cores, 1.
  int intra_op_threads = 1;
  // INTER_OP_THREAD_COUNT: LibTorch's inter-op pool (torch.jit.fork). Process-wide and settable
  // once; 0 leaves LibTorch's default.
  int inter_op_threads = 0;
  // REJECT_NAN_OUTPUTS: a batch whose floating-point outputs hold a NaN fails (INTERNAL, naming
  // the output and the count) instead of sending the NaNs to clients. Off by default, as in
  // Triton; the default models turn it on.
  bool reject_nan_outputs = false;
  // EXECUTION_TIMEOUT_MS: how long one batch's forward() may run. Past it the batch fails
  // (DEADLINE_EXCEEDED) at once; LibTorch cannot stop the graph, so the instance takes no other
  // batch until it ends, and a batch that finds it still running waits as long again and then
  // fails (UNAVAILABLE). Zero: no limit, and forward() runs on the worker thread that drives the
  // instance, with no thread of its own.
  absl::Duration execution_timeout = absl::ZeroDuration();
};

// Reads the settings from `config.parameters()`. `instances` is how many instances of the model
// this process runs, `usable_cores` how many cores it may use (UsableCores()); the default
// intra-op count is max(1, (usable_cores - 1) / instances). Booleans are
// "true" or "false", thread counts integers from 0 to 1024 where 0 means the default, the
// execution timeout an integer from 0 to kMaxExecutionTimeoutMs. Fails,
// naming the parameter, the expected and the received value, on anything else.
absl::StatusOr<ExecutionSettings> ExecutionSettingsFromConfig(const inference::ModelConfig& config,
                                                              int instances, int usable_cores);

// The cores this process may run on: those in its CPU affinity mask, fewer when a cgroup v2
// CPU quota (`cpu.max`, as Kubernetes sets for a CPU limit) allows less, rounded up; at least 1.
int UsableCores();

// "intra-op threads 2, inter-op default, inference mode, optimized, profiling executor default"
// for the server's log.
std::string DescribeExecutionSettings(const ExecutionSettings& settings);

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_EXECUTION_EXECUTION_SETTINGS_H_
