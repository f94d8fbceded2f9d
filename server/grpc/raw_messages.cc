#include "server/grpc/raw_messages.h"

#include <grpcpp/impl/codegen/proto_utils.h>
#include <grpcpp/support/proto_buffer_reader.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace speech {

absl::Status ParseInferRequest(const grpc::ByteBuffer& raw, inference::ModelInferRequest* request) {
  grpc::ByteBuffer bytes(raw);  // shares the slices; the reader consumes this one
  grpc::ProtoBufferReader reader(&bytes);
  if (!reader.status().ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request's bytes cannot be read: ", reader.status().error_message()));
  }
  if (!request->ParseFromZeroCopyStream(&reader)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the request (", raw.Length(),
        " bytes) is not a valid inference.ModelInferRequest: its bytes are malformed, or a string "
        "field (a name, a datatype, the id or a parameter) is not valid UTF-8"));
  }
  return absl::OkStatus();
}

absl::Status SerializeReply(const google::protobuf::MessageLite& message, grpc::ByteBuffer* raw) {
  bool own_buffer = false;  // always true for protobuf messages
  // What gRPC does for a message it serializes itself, small messages in one inlined slice.
  const grpc::Status status = grpc::SerializationTraits<google::protobuf::MessageLite>::Serialize(
      message, raw, &own_buffer);
  if (status.ok()) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      absl::StrCat("the reply (", message.ByteSizeLong(),
                   " bytes) cannot be serialized: ", status.error_message()));
}

}  // namespace speech
