// The seam between the model repository and a backend: something that loads one instance of a
// model version onto one device. The LibTorch backend implements it (models/torch/); tests use a
// fake (tests/fakes/).
#ifndef SPEECH_MODELS_INSTANCE_FACTORY_H_
#define SPEECH_MODELS_INSTANCE_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "batcher/executor.h"
#include "models/instance_plan.h"
#include "proto/model_config.pb.h"

namespace speech {

// Implementations are thread-safe: models may load concurrently.
class InstanceFactory {
 public:
  virtual ~InstanceFactory() = default;

  // GPUs this backend can place instances on (0 on a CPU-only host or build).
  virtual int VisibleGpus() const = 0;

  // Loads `model_path` (a version's model file) as one instance of `config` at `placement`. Not
  // warmed up. Fails, naming the file or the device, when the backend cannot load it there.
  virtual absl::StatusOr<std::unique_ptr<BatchExecutor>> Create(
      const inference::ModelConfig& config, const InstancePlacement& placement,
      const std::string& model_path) = 0;
};

}  // namespace speech

#endif  // SPEECH_MODELS_INSTANCE_FACTORY_H_
