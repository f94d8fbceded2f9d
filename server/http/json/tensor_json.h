// Tensor data as the KServe v2 REST protocol writes it in JSON, converted to and from the raw
// little-endian layout that raw_input_contents and raw_output_contents carry (BYTES elements as a
// 4-byte little-endian length followed by the bytes). Network input is never trusted: every
// error names the tensor, what was expected and what was received.
#ifndef SPEECH_SERVER_HTTP_JSON_TENSOR_JSON_H_
#define SPEECH_SERVER_HTTP_JSON_TENSOR_JSON_H_

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/tensor_types.h"

namespace speech {

// The raw bytes of input `name` from its JSON "data": a flat or nested array (nesting is not
// checked against the shape, as in Triton) whose values, in row-major order, fill `shape`.
// Booleans for BOOL; integers within the type's range for INT*/UINT*; numbers within range for
// FP16, BF16 (which Triton only takes in binary), FP32 and FP64; strings for BYTES.
// INVALID_ARGUMENT for anything else, for a value count that differs from the shape's element
// count (counted before any memory is sized by the shape), or for an invalid datatype.
absl::StatusOr<std::string> JsonToRawTensor(const nlohmann::ordered_json& data, DataType type,
                                            absl::Span<const int64_t> shape,
                                            absl::string_view name);

// The flat JSON array of output `name`'s `element_count` elements held in `raw`: booleans for
// BOOL, numbers for the numeric types (FP16 and BF16 too, where Triton refuses), strings for
// BYTES; non-finite floats become null. INTERNAL when `raw` does not hold exactly that many
// elements (the model's fault); INVALID_ARGUMENT when a BYTES element is not valid UTF-8 (it must
// be asked for in binary).
absl::StatusOr<nlohmann::ordered_json> RawTensorToJson(absl::string_view raw, DataType type,
                                                       int64_t element_count,
                                                       absl::string_view name);

// `value` for error messages: its JSON kind and text, cut when long: `a string ("abc")`.
std::string DescribeJson(const nlohmann::ordered_json& value);

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_JSON_TENSOR_JSON_H_
