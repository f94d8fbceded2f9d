// The inference messages that ModelInfer and ModelStreamInfer take and send as raw bytes, parsed
// and serialized here so that a request that does not parse gets a status of ours: gRPC's own
// parsing answers such a unary call UNIMPLEMENTED with no message, and ends the reads of a stream
// as if the client had stopped sending, dropping that request and every one after it unanswered.
#ifndef SPEECH_SERVER_GRPC_RAW_MESSAGES_H_
#define SPEECH_SERVER_GRPC_RAW_MESSAGES_H_

#include <grpcpp/support/byte_buffer.h>

#include "absl/status/status.h"
#include "google/protobuf/message_lite.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// Parses `raw` into `request`. INVALID_ARGUMENT when it is no ModelInferRequest: malformed bytes,
// or a string field (a name, a datatype, the id, a parameter) that is not valid UTF-8, which
// proto3 requires. Leaves `raw` as it was.
absl::Status ParseInferRequest(const grpc::ByteBuffer& raw, inference::ModelInferRequest* request);

// Serializes `message` into `raw` (replacing what it held) for gRPC to send.
absl::Status SerializeReply(const google::protobuf::MessageLite& message, grpc::ByteBuffer* raw);

}  // namespace speech

#endif  // SPEECH_SERVER_GRPC_RAW_MESSAGES_H_
