#include "models/torch/torch_instance_factory.h"

#include <torch/cuda.h>

#include <utility>

#include "models/torch/execution/execution_settings.h"
#include "models/torch/torch_instance.h"

namespace speech {

int TorchInstanceFactory::VisibleGpus() const {
  return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
}

absl::StatusOr<std::unique_ptr<BatchExecutor>> TorchInstanceFactory::Create(
    const inference::ModelConfig& config, const InstancePlacement& placement,
    const std::string& model_path) {
  absl::StatusOr<ExecutionSettings> execution =
      ExecutionSettingsFromConfig(config, placement.model_instances, UsableCores());
  if (!execution.ok()) return execution.status();
  TorchInstance::Options options;
  options.execution = *execution;
  options.model_path = model_path;
  options.config = config;
  options.device = placement.device;
  options.instance_name = placement.name;
  options.clock = clock_;
  absl::StatusOr<std::unique_ptr<TorchInstance>> instance =
      TorchInstance::Create(std::move(options));
  if (!instance.ok()) return instance.status();
  return std::unique_ptr<BatchExecutor>(*std::move(instance));
}

}  // namespace speech
