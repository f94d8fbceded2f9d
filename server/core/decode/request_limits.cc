#include "server/core/decode/request_limits.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace speech {
namespace {

constexpr int64_t kSaturated = std::numeric_limits<int64_t>::max();

// The product of `shape`'s dimensions, saturated at kSaturated; 0 when one is negative (the
// decoder refuses those, naming the dimension).
int64_t SaturatedElements(const google::protobuf::RepeatedField<int64_t>& shape) {
  int64_t elements = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return 0;
    if (dim != 0 && elements > kSaturated / dim) return kSaturated;
    elements *= dim;
  }
  return elements;
}

std::string ElementCount(int64_t elements) {
  return elements == kSaturated ? "more than 9223372036854775807" : absl::StrCat(elements);
}

}  // namespace

absl::Status CheckElementLimits(const inference::ModelInferRequest& message,
                                const RequestLimits& limits) {
  int64_t total = 0;
  for (const inference::ModelInferRequest::InferInputTensor& input : message.inputs()) {
    const int64_t elements = SaturatedElements(input.shape());
    if (limits.max_input_elements > 0 && elements > limits.max_input_elements) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", input.name(), "' has ", ElementCount(elements), " elements; the limit is ",
          limits.max_input_elements, " per input (--max-input-elements)"));
    }
    total = elements > kSaturated - total ? kSaturated : total + elements;
  }
  if (limits.max_request_elements > 0 && total > limits.max_request_elements) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request's inputs have ", ElementCount(total), " elements together; the limit is ",
        limits.max_request_elements, " per request (--max-request-elements)"));
  }
  return absl::OkStatus();
}

int64_t InputBytes(const InferenceRequest& request) {
  int64_t bytes = 0;
  for (const InputTensor& input : request.inputs) bytes += static_cast<int64_t>(input.byte_size);
  return bytes;
}

}  // namespace speech
