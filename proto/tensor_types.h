// The KServe v2 tensor vocabulary that the server and its clients share: datatype wire names and
// element sizes, element counts of shapes and their printed form. No dependency beyond the
// model configuration's DataType enum, so that clients use it without the server's code.
#ifndef SPEECH_PROTO_TENSOR_TYPES_H_
#define SPEECH_PROTO_TENSOR_TYPES_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/model_config.pb.h"

namespace speech {

using DataType = inference::DataType;

// Bytes per element; 0 for TYPE_STRING (variable size) and TYPE_INVALID.
size_t DataTypeByteSize(DataType type);

// The KServe v2 wire name ("FP32", "INT64", "BYTES", ...); "INVALID" for TYPE_INVALID.
absl::string_view DataTypeWireName(DataType type);

// The inverse of DataTypeWireName; TYPE_INVALID for a name it does not know.
DataType DataTypeFromWireName(absl::string_view name);

// Number of elements of a shape; -1 when a dimension is negative or the product overflows int64.
int64_t ElementCount(absl::Span<const int64_t> shape);

// "[2, 80, -1]", for error messages.
std::string ShapeToString(absl::Span<const int64_t> shape);

}  // namespace speech

#endif  // SPEECH_PROTO_TENSOR_TYPES_H_
