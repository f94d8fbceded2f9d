// The one place where internal absl::Status values become gRPC statuses.
#ifndef SPEECH_SERVER_GRPC_STATUS_UTIL_H_
#define SPEECH_SERVER_GRPC_STATUS_UTIL_H_

#include <grpcpp/support/status.h>

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace speech {

// The longest status message sent, in bytes. gRPC sends the message in a header, and a client
// drops a reply whose headers pass its metadata limit (8 KiB by default; the percent-encoding of
// a byte outside printable ASCII takes 3), reporting RESOURCE_EXHAUSTED instead of the status.
inline constexpr size_t kMaxStatusMessageBytes = 2048;

// `message` when it fits kMaxStatusMessageBytes; otherwise its start and its end (what is wrong
// and, in this server's messages, what was expected), each cut on a UTF-8 character boundary,
// around a note of how many bytes were left out. Messages echo what a client sent (names, shapes),
// so without a bound a client could make a reply it cannot read.
std::string BoundedStatusMessage(absl::string_view message);

// Same code (gRPC and absl share the canonical codes), the message bounded as above.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace speech

#endif  // SPEECH_SERVER_GRPC_STATUS_UTIL_H_
