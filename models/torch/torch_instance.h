// One model instance backed by LibTorch: a TorchScript module on one device, run one batch at a
// time by the worker thread that owns it.
#ifndef SPEECH_MODELS_TORCH_TORCH_INSTANCE_H_
#define SPEECH_MODELS_TORCH_TORCH_INSTANCE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "batcher/clock.h"
#include "batcher/executor.h"
#include "models/torch/execution/execution_settings.h"
#include "proto/model_config.pb.h"

namespace speech {

// Not thread-safe: one worker thread drives an instance (see BatchExecutor). Owns its copy of the
// module, and on a GPU its own stream.
class TorchInstance : public BatchExecutor {
 public:
  struct Options {
    // The TorchScript file (torch.jit.save output).
    std::string model_path;
    // A validated model configuration: inputs are passed to forward() positionally in the
    // configuration's order, outputs are read from the returned tuple in its order.
    inference::ModelConfig config;
    // "cpu", or "cuda:N".
    std::string device = "cpu";
    // Names this instance in messages, e.g. "fastpitch_0_gpu1".
    std::string instance_name;
    // How LibTorch runs the module (threads, inference mode, graph executor).
    ExecutionSettings execution;
    // Stamps the phase times; must outlive the instance.
    Clock* clock = RealClock::Get();
  };

  // Loads the module onto its device. Fails (without throwing) when the file is missing or is not
  // TorchScript, when the device does not exist in this LibTorch build, or when forward() takes
  // a different number of inputs than the configuration lists.
  static absl::StatusOr<std::unique_ptr<TorchInstance>> Create(Options options);

  ~TorchInstance() override;

  // Gathers the batch's inputs into one tensor per input (pinned host memory when the device is a
  // GPU), copies them to the device, runs forward() with the execution settings and splits the
  // outputs back into each request's rows. LibTorch errors become INTERNAL statuses naming the
  // instance.
  absl::Status Execute(absl::Span<InferenceRequest* const> batch) override;

  const std::string& name() const { return options_.instance_name; }

 private:
  struct State;
  TorchInstance(Options options, std::unique_ptr<State> state);

  const Options options_;
  std::unique_ptr<State> state_;  // LibTorch objects, kept out of this header
};

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_TORCH_INSTANCE_H_
