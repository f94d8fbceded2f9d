// Where a model's instances run: the placements its configuration's instance_group asks for on a
// host with a given number of GPUs. A pure function, tested without devices.
#ifndef SPEECH_MODELS_INSTANCE_PLAN_H_
#define SPEECH_MODELS_INSTANCE_PLAN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/model_config.pb.h"

namespace speech {

// Where one instance runs.
struct InstancePlacement {
  std::string name;    // "<model>_<group index>_<n>", plus "_gpu<id>" on a GPU
  std::string device;  // "cpu" or "cuda:<id>"
  // How many instances the model has in all, this one included: they share the host's cores.
  int model_instances = 1;
};

// The instances `config` asks for when `visible_gpus` GPUs are present: `count` on the CPU
// (KIND_CPU), `count` on each listed GPU or, when none is listed, on every visible GPU
// (KIND_GPU), and KIND_AUTO as KIND_GPU when a GPU is visible, else KIND_CPU. A model without
// instance_group gets one instance. Fails, naming the group, for a GPU kind with no GPU visible,
// a listed GPU that does not exist, or a count below 1.
absl::StatusOr<std::vector<InstancePlacement>> PlanInstances(const inference::ModelConfig& config,
                                                             int visible_gpus);

}  // namespace speech

#endif  // SPEECH_MODELS_INSTANCE_PLAN_H_
