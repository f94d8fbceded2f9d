// Tensors as they travel between the server, the batcher and the model instances: inputs borrow
// the bytes of the network message that carried them; outputs own theirs.
#ifndef SPEECH_BATCHER_TENSOR_H_
#define SPEECH_BATCHER_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/model_config.pb.h"

namespace speech {

using DataType = inference::DataType;

// Bytes per element; 0 for TYPE_STRING (variable size) and TYPE_INVALID.
size_t DataTypeByteSize(DataType type);

// The KServe v2 wire name ("FP32", "INT64", ...); "INVALID" for TYPE_INVALID.
absl::string_view DataTypeWireName(DataType type);

// The inverse of DataTypeWireName; TYPE_INVALID for a name it does not know.
DataType DataTypeFromWireName(absl::string_view name);

// Number of elements of a shape; -1 when a dimension is negative or the product overflows int64.
int64_t ElementCount(absl::Span<const int64_t> shape);

// "[2, 80, -1]", for error messages.
std::string ShapeToString(absl::Span<const int64_t> shape);

// An input tensor. `data` is borrowed: it points into the request message that carried it (or
// into storage the request owns) and stays valid until the request completes.
struct InputTensor {
  std::string name;
  DataType type = inference::TYPE_INVALID;
  std::vector<int64_t> shape;  // full shape, batch dimension first when the model batches
  const char* data = nullptr;
  size_t byte_size = 0;
};

// An output tensor produced by a model instance for one request; owns its bytes so that the
// server can move them into the reply without another copy.
struct OutputTensor {
  std::string name;
  DataType type = inference::TYPE_INVALID;
  std::vector<int64_t> shape;
  std::string data;
};

}  // namespace speech

#endif  // SPEECH_BATCHER_TENSOR_H_
