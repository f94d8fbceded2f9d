// BYTES tensors on the LibTorch side: TorchScript takes and returns them as List[str], one string
// per element, rows after rows; the server holds them in Triton's raw layout (length-prefixed).
#ifndef SPEECH_MODELS_TORCH_TENSORS_STRING_TENSORS_H_
#define SPEECH_MODELS_TORCH_TENSORS_STRING_TENSORS_H_

#include <ATen/core/List.h>
#include <ATen/core/ivalue.h>

#include <string>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "batcher/request.h"
#include "proto/model_config.pb.h"

namespace speech {

// Every element of input `index` of every request of `batch`, in request order. REQUIRES: the
// input is TYPE_STRING and its bytes were validated (DecodeInferRequest).
c10::List<std::string> GatherStrings(absl::Span<InferenceRequest* const> batch, int index);

// Output `spec` of the whole batch, which forward() returned as `value` (a List[str] with
// `total_rows` rows of equal counts of strings), split into each request's rows: its shape is
// [rows, per-row count] (or [per-row count] without a batch dimension) and its bytes the raw
// layout. INTERNAL, naming the output, when `value` is not a list of strings or does not divide
// into the rows.
absl::Status ScatterStrings(const c10::IValue& value, const inference::ModelOutput& spec,
                            bool batching, int64_t total_rows,
                            absl::Span<InferenceRequest* const> batch);

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_TENSORS_STRING_TENSORS_H_
