// Builds a model's instances from its configuration's instance_group and warms them up, so that
// a model reports ready only once every instance has run and its outputs agree with the config.
#ifndef SPEECH_MODELS_INSTANCE_POOL_H_
#define SPEECH_MODELS_INSTANCE_POOL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "batcher/executor.h"
#include "proto/model_config.pb.h"

namespace speech {

// Where one instance runs.
struct InstancePlacement {
  std::string name;    // "<model>_<group index>_<n>", plus "_gpu<id>" on a GPU
  std::string device;  // "cpu" or "cuda:<id>"
};

// The instances `config` asks for when `visible_gpus` GPUs are present: `count` on the CPU
// (KIND_CPU), `count` on each listed GPU or, when none is listed, on every visible GPU
// (KIND_GPU), and KIND_AUTO as KIND_GPU when a GPU is visible, else KIND_CPU. A model without
// instance_group gets one instance. Fails, naming the group, for a GPU kind with no GPU visible,
// a listed GPU that does not exist, or a count below 1.
absl::StatusOr<std::vector<InstancePlacement>> PlanInstances(const inference::ModelConfig& config,
                                                             int visible_gpus);

// GPUs LibTorch can use on this host (0 in CPU-only builds).
int VisibleGpuCount();

// Runs the configuration's model_warmup samples on `instance` (or, when none is given, one batch
// of the largest size with every variable dimension set to 128 and every element 1), then checks
// each output's data type and dims against the configuration. `model_dir` resolves warm-up
// input_data_file names (<model_dir>/warmup/<file>, as in Triton).
absl::Status WarmUp(BatchExecutor& instance, const inference::ModelConfig& config,
                    const std::string& model_dir);

// Loads `model_path` once per placement with the LibTorch backend and warms every instance up.
// On failure nothing is kept and the status names the instance.
absl::StatusOr<std::vector<std::unique_ptr<BatchExecutor>>> CreateInstances(
    const inference::ModelConfig& config, const std::string& model_dir,
    const std::string& model_path);

}  // namespace speech

#endif  // SPEECH_MODELS_INSTANCE_POOL_H_
