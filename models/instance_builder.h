// Builds every instance of one model version: plans the placements (instance_plan.h), loads each
// through a backend's InstanceFactory, warms each up (warmup.h) and, for a model with padded
// inputs, measures what batches cost on the first (batch_cost_probe.h), so that a model is handed
// to its batcher only once every instance has run.
#ifndef SPEECH_MODELS_INSTANCE_BUILDER_H_
#define SPEECH_MODELS_INSTANCE_BUILDER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "batcher/executor.h"
#include "batcher/policy/batch_cost_model.h"
#include "models/instance_factory.h"
#include "proto/model_config.pb.h"

namespace speech {

struct ModelInstances {
  std::vector<std::unique_ptr<BatchExecutor>> executors;
  // What batches cost on this hardware, measured on the first instance; empty when the model
  // pads nothing or its costs were not asked for.
  std::vector<CostSample> batch_costs;
};

// Loads `model_path` once per placement that `config` asks for, with `factory`, and warms every
// instance up (warm-up files resolve under `model_dir`); with `measure_costs`, measures batch
// costs on the first. On failure nothing is kept and the status names the instance.
absl::StatusOr<ModelInstances> BuildInstances(const inference::ModelConfig& config,
                                              const std::string& model_dir,
                                              const std::string& model_path,
                                              InstanceFactory& factory, bool measure_costs);

}  // namespace speech

#endif  // SPEECH_MODELS_INSTANCE_BUILDER_H_
