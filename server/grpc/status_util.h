// The one place where internal absl::Status values become gRPC statuses.
#ifndef SPEECH_SERVER_GRPC_STATUS_UTIL_H_
#define SPEECH_SERVER_GRPC_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace speech {

// Same code (gRPC and absl share the canonical codes), same message.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace speech

#endif  // SPEECH_SERVER_GRPC_STATUS_UTIL_H_
