// One tensor of Triton's JSON input-data format (what NVIDIA's perf_analyzer reads from
// --input-data=FILE.json): the JSON value of one input in one "data" entry, turned into the raw
// little-endian bytes of one batch row. Pure function.
#ifndef SPEECH_CLIENT_PERF_INPUTS_JSON_JSON_TENSOR_H_
#define SPEECH_CLIENT_PERF_INPUTS_JSON_JSON_TENSOR_H_

#include <cstdint>
#include <nlohmann/json_fwd.hpp>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "client/tensor_util.h"

namespace speech {

// The tensor `name` of `datatype` that `value` describes, without a batch dimension. `value` is
//   [v, ...]                                   values in row-major order (nested arrays are
//                                              flattened); the shape is `configured` with its
//                                              one variable dimension sized by the count;
//   {"content": [v, ...], "shape": [d, ...]}   the same with an explicit shape;
//   {"b64": "...", "shape": [d, ...]}          the raw little-endian bytes in base64 (for BYTES,
//                                              Triton's length-prefixed layout).
// "shape" is optional in both objects; when given it must fit `configured` (CheckShapeFits).
// Values are JSON numbers (for integer datatypes whole numbers within the type's range; for
// floating-point ones within its finite range), true/false for BOOL, strings for BYTES.
// INVALID_ARGUMENT saying what is wrong and, for a bad value, its index and text; the message
// does not name the input (callers add the entry and the input).
absl::StatusOr<HostTensor> JsonToTensor(const nlohmann::json& value, absl::string_view name,
                                        absl::string_view datatype,
                                        absl::Span<const int64_t> configured);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_INPUTS_JSON_JSON_TENSOR_H_
