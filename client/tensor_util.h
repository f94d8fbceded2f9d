// Host-side tensors for the inference client: building ModelInferRequests from them, reading
// them back out of ModelInferResponses, generating test inputs and printing short summaries.
#ifndef SPEECH_CLIENT_TENSOR_UTIL_H_
#define SPEECH_CLIENT_TENSOR_UTIL_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/element_values.h"  // HalfToFloat and the other element conversions
#include "proto/grpc_service.pb.h"

namespace speech {

// A tensor held in host memory, as it travels in raw_input_contents / raw_output_contents.
// A plain value type; not synchronised.
struct HostTensor {
  std::string name;
  std::string datatype;        // KServe wire name: "FP32", "INT64", "FP16", "BYTES", ...
  std::vector<int64_t> shape;  // full shape, batch dimension first when the model batches
  // Tightly packed little-endian row-major elements. For BYTES each element is a 4-byte
  // little-endian length followed by that many bytes (Triton's raw BYTES layout).
  std::string bytes;
};

// OK when `tensor` has a known datatype, a shape without negative dimensions and exactly the
// bytes that shape needs; INVALID_ARGUMENT naming the tensor otherwise.
absl::Status ValidateTensor(const HostTensor& tensor);

// A request for `model` (`version` empty: the server's choice) carrying `inputs` as raw
// contents, in order. `output_names` empty asks for every output.
inference::ModelInferRequest MakeInferRequest(absl::string_view model, absl::string_view version,
                                              absl::Span<const HostTensor> inputs,
                                              absl::Span<const std::string> output_names);

// The outputs of `response`, in order, from raw_output_contents or, where the response carries
// no raw contents, from the typed `contents` fields. Returns INVALID_ARGUMENT when the response
// is malformed: a raw entry count that differs from the output count, an unknown datatype, a
// negative dimension or a payload whose size does not match the shape.
absl::StatusOr<std::vector<HostTensor>> OutputsFromResponse(
    const inference::ModelInferResponse& response);

// The elements of `tensor` reinterpreted as T. REQUIRES: sizeof(T) is the element size of the
// tensor's datatype (for FP16/BF16 use uint16_t and the converters of proto/element_values.h); trailing bytes that do
// not fill a whole T are ignored.
template <typename T>
std::vector<T> AsVector(const HostTensor& tensor) {
  std::vector<T> values(tensor.bytes.size() / sizeof(T));
  if (!values.empty()) std::memcpy(values.data(), tensor.bytes.data(), values.size() * sizeof(T));
  return values;
}


// How GenerateInput fills a tensor.
enum class FillMode {
  kZeros,
  kRandom,  // floats uniform in [-1, 1]; integers uniform in [int_low, int_high); BOOL 0 or 1
};

// Parses "zeros" or "random"; INVALID_ARGUMENT otherwise.
absl::StatusOr<FillMode> ParseFillMode(absl::string_view text);

// A tensor of `datatype` and `shape` filled per `mode`. The same `seed` gives the same bytes.
// Returns INVALID_ARGUMENT for BYTES or an unknown datatype, a negative dimension, or (random
// integers only) an empty range or one that the datatype cannot hold.
absl::StatusOr<HostTensor> GenerateInput(absl::string_view name, absl::string_view datatype,
                                         absl::Span<const int64_t> shape, FillMode mode,
                                         uint64_t seed, int64_t int_low = 1,
                                         int64_t int_high = 100);

// A tensor whose bytes are the contents of the file at `path`. Returns the file error (e.g.
// NOT_FOUND) when it cannot be read, and INVALID_ARGUMENT when its size does not match `shape`.
absl::StatusOr<HostTensor> ReadInputFile(const std::string& path, absl::string_view name,
                                         absl::string_view datatype,
                                         absl::Span<const int64_t> shape);

}  // namespace speech

#endif  // SPEECH_CLIENT_TENSOR_UTIL_H_
