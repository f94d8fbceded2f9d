// The LibTorch backend's InstanceFactory: each instance is a TorchInstance on its planned device.
#ifndef SPEECH_MODELS_TORCH_TORCH_INSTANCE_FACTORY_H_
#define SPEECH_MODELS_TORCH_TORCH_INSTANCE_FACTORY_H_

#include <memory>
#include <string>

#include "batcher/clock.h"
#include "models/instance_factory.h"

namespace speech {

// Thread-safe (stateless but for the borrowed clock, which must outlive every instance).
class TorchInstanceFactory final : public InstanceFactory {
 public:
  explicit TorchInstanceFactory(Clock* clock = RealClock::Get()) : clock_(clock) {}

  // CUDA devices LibTorch sees (0 in CPU-only builds).
  int VisibleGpus() const override;

  absl::StatusOr<std::unique_ptr<BatchExecutor>> Create(const inference::ModelConfig& config,
                                                        const InstancePlacement& placement,
                                                        const std::string& model_path) override;

 private:
  Clock* const clock_;
};

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_TORCH_INSTANCE_FACTORY_H_
