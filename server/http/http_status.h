// The one place where internal absl::Status values become HTTP replies for the REST adapter: the
// status code each absl::StatusCode maps to, the HTTP-level codes that have no absl::StatusCode
// (405, 413), and the JSON error body, {"error": "..."}, that Triton's clients read.
#ifndef SPEECH_SERVER_HTTP_HTTP_STATUS_H_
#define SPEECH_SERVER_HTTP_HTTP_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace speech {

inline constexpr int kHttpOk = 200;
inline constexpr int kHttpBadRequest = 400;
inline constexpr int kHttpNotFound = 404;
// A known path asked with a method it does not take; the reply names the allowed ones (Allow).
inline constexpr int kHttpMethodNotAllowed = 405;
// A body over --http-max-body-bytes, refused before it is read when Content-Length says so.
inline constexpr int kHttpPayloadTooLarge = 413;

// The HTTP status for `code`. Where Triton has the code its HTTP server maps it the same way
// (INVALID_ARGUMENT 400, NOT_FOUND 404, UNIMPLEMENTED 501, UNAVAILABLE 503, INTERNAL 500); the
// others follow google/rpc/code.proto's HTTP mapping (DEADLINE_EXCEEDED 504, RESOURCE_EXHAUSTED
// 429, CANCELLED 499, ...). OK is 200.
int HttpStatusFromCode(absl::StatusCode code);

// {"error": message} as Triton writes it; `message` is escaped (any bytes, never a crash: invalid
// UTF-8 is replaced by U+FFFD).
std::string ErrorBody(absl::string_view message);

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_HTTP_STATUS_H_
