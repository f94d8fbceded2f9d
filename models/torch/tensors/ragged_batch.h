// Variable-length batching on LibTorch tensors: gathering requests whose padded inputs differ in
// length into one tensor padded to the longest, the batch inputs the server fills (each row's
// element count or shape), and cutting each request's outputs back to its own length.
#ifndef SPEECH_MODELS_TORCH_TENSORS_RAGGED_BATCH_H_
#define SPEECH_MODELS_TORCH_TENSORS_RAGGED_BATCH_H_

#include <torch/script.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "batcher/request.h"
#include "proto/model_config.pb.h"

namespace speech {

// The size a batch whose longest item has `longest` elements along a variable dimension is
// padded to: `longest` rounded up to a multiple of the largest power of two not above
// `fraction` * `longest`, but not past `cap` (when cap > 0) unless `longest` is. `longest` itself
// when fraction is 0 or the step is 1. REQUIRES: longest >= 0, fraction in [0, 0.5].
int64_t BucketedSize(int64_t longest, double fraction, int64_t cap);

// True when an item of `shape` (batch dimension first) would be padded past its own sizes by
// the buckets of input `spec` (ragged_padding's bucket_fraction).
bool PadsFurther(const std::vector<int64_t>& shape, const inference::ModelInput& spec);

// What the model would see of `batch` without buckets: a hash of its rows and, for every input
// whose ragged_padding has a bucket_fraction, the longest item's variable dimensions; 0 when no
// input has buckets. Two batches with the same key run the same shapes at their own sizes.
uint64_t ExactShapeKey(absl::Span<InferenceRequest* const> batch,
                       const inference::ModelConfig& config);

// Input `index` of every request of `batch`, in order along the batch dimension, in one host
// tensor of `options`: each item padded with the input's ragged_padding pad_value at the end of
// every variable dimension, up to the longest in the batch (with `buckets`, BucketedSize with the
// input's bucket_fraction and constraints.max_length). Also adds the elements of data and
// of padding to `*real` and `*padded`. REQUIRES: the model batches, input `index` has
// ragged_padding, and the requests agree on its fixed dimensions.
torch::Tensor GatherPadded(absl::Span<InferenceRequest* const> batch, int index,
                           const inference::ModelInput& spec, bool buckets,
                           const torch::TensorOptions& options, int64_t* real, int64_t* padded);

// The batch inputs of `config` (Triton's batch_input, in order) for `batch`: for each row,
// BATCH_ELEMENT_COUNT gives [rows, 1] holding its source input's element count, BATCH_ITEM_SHAPE
// [rows, dims] holding its source input's shape (batch dimension left out). Host tensors.
std::vector<torch::Tensor> BatchInputs(absl::Span<InferenceRequest* const> batch,
                                       const inference::ModelConfig& config);

// Output `index` of the whole batch (host, contiguous, batch dimension first), cut for the
// request whose rows start at `first_row`: its own rows, and along the output's variable
// dimensions what its batch_output says (the sizes of the request's source input, or the value
// of the source output, `outputs[source]`, in its rows: the largest of them when it has several).
// Outputs without a batch_output keep the batch's sizes. INTERNAL, naming the output, when a
// length the model returned is negative or beyond the output's size.
absl::StatusOr<torch::Tensor> CutOutput(const std::vector<torch::Tensor>& outputs, int index,
                                        const inference::ModelConfig& config,
                                        const InferenceRequest& request, int64_t first_row);

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_TENSORS_RAGGED_BATCH_H_
