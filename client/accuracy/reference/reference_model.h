// The accuracy checker's reference: a model's TorchScript file run in-process with LibTorch on
// one request at a time, unbatched and unpadded, the way the model would see a lone request.
// forward() gets the configured inputs in order (with their batch dimension of 1 when the model
// batches), then each configured batch input as the server would fill it for that request alone:
// BATCH_ELEMENT_COUNT a [rows, 1] tensor of the source input's elements per row, BATCH_ITEM_SHAPE
// a [rows, dims] tensor of its shape per row without the batch dimension, in the configured
// INT32 or INT64. A second implementation, apart from the server's backend by design: it shares
// none of its code, so that it checks the batching, padding and cutting the server does.
#ifndef SPEECH_CLIENT_ACCURACY_REFERENCE_REFERENCE_MODEL_H_
#define SPEECH_CLIENT_ACCURACY_REFERENCE_REFERENCE_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/tensor_util.h"
#include "proto/model_config.pb.h"

namespace speech {

// Not thread-safe: call Run from one thread at a time. Owns the loaded module.
class ReferenceModel {
 public:
  struct Options {
    // The TorchScript file (<repository>/<model>/<version>/model.pt). Must exist.
    std::string model_path;
    // The model's configuration: inputs, batch inputs and outputs, max_batch_size.
    inference::ModelConfig config;
    // The LibTorch device the module runs on ("cpu", "cuda:0"). Outputs come back to the host.
    std::string device = "cpu";
  };

  // Loads the module. NOT_FOUND for a missing file; INVALID_ARGUMENT for a file LibTorch cannot
  // load, a bad device, a forward() whose argument count is not inputs + batch inputs, a datatype
  // LibTorch lacks, or a batch input of another kind or type than those above (the message names
  // the file and the input).
  static absl::StatusOr<std::unique_ptr<ReferenceModel>> Create(Options options);

  ~ReferenceModel();
  ReferenceModel(const ReferenceModel&) = delete;
  ReferenceModel& operator=(const ReferenceModel&) = delete;

  // The configured outputs of forward() on `inputs` (one per configured input, found by name, in
  // any order; shapes as sent to the server, so with the batch dimension when the model batches):
  // in the configuration's order, named after it, with the shape a client sees (the configured
  // `dims` where a `reshape` is declared). INVALID_ARGUMENT for a missing or malformed input or
  // one of another datatype than configured; INTERNAL when forward() throws or returns anything
  // but a tensor, a tuple or a list of tensors, as many as the configured outputs, each of its
  // configured datatype and with as many rows as the inputs.
  absl::StatusOr<std::vector<HostTensor>> Run(absl::Span<const HostTensor> inputs);

 private:
  struct State;  // LibTorch's types, kept out of this header
  ReferenceModel(Options options, std::unique_ptr<State> state);

  // Constant after construction.
  const Options options_;
  const std::unique_ptr<State> state_;
};

}  // namespace speech

#endif  // SPEECH_CLIENT_ACCURACY_REFERENCE_REFERENCE_MODEL_H_
