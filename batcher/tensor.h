// Tensors as they travel between the server, the batcher and the model instances: inputs borrow
// the bytes of the network message that carried them; outputs own theirs.
#ifndef SPEECH_BATCHER_TENSOR_H_
#define SPEECH_BATCHER_TENSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "proto/tensor_types.h"

namespace speech {

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
