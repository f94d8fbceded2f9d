// The analyzer's side of a KServe v2 HTTP/REST endpoint (Triton's, port 8000): where it is, an
// httplib client set up for measuring (keep-alive, Nagle off, timeouts), the model routes, and
// how a reply, or the failure to get one, becomes an absl::Status. Shared by the HTTP transport
// and the HTTP model client.
#ifndef SPEECH_CLIENT_PERF_TRANSPORT_HTTP_ENDPOINT_H_
#define SPEECH_CLIENT_PERF_TRANSPORT_HTTP_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace httplib {
class Client;
enum class Error;
}  // namespace httplib

namespace speech {

// A plain value type.
struct HttpEndpoint {
  std::string host;  // a name or an IPv4 address; an IPv6 address without its brackets
  int port = 80;

  // "HOST:PORT" ("[ADDR]:PORT" for IPv6), as -u takes it.
  std::string ToString() const;
};

// "HOST:PORT", "HOST" (port 80), "[IPV6]:PORT", each optionally after "http://" and before a
// trailing "/" (Triton's perf_analyzer takes "localhost:8000"; curl users type the scheme).
// INVALID_ARGUMENT for another scheme (https is not supported), an empty host, a path, or a port
// outside [1, 65535].
absl::StatusOr<HttpEndpoint> ParseHttpEndpoint(absl::string_view url);

// How an HttpClient waits. A plain value type.
struct HttpClientOptions {
  // Longest wait for a TCP connection. Must be positive.
  absl::Duration connect_timeout = absl::Seconds(10);
  // Longest wait for one read or write on the connection: httplib has no deadline for a whole
  // exchange, so a reply that keeps trickling in may take longer. Must be positive.
  absl::Duration io_timeout = absl::Seconds(30);
};

// INVALID_ARGUMENT naming the field when a timeout is not positive.
absl::Status ValidateHttpClientOptions(const HttpClientOptions& options);

// A client of `endpoint` that keeps its connection alive between requests and turns Nagle's
// algorithm off (httplib writes the headers and the body of a request separately, and Nagle would
// hold the body back until the server's delayed ACK, about 40 ms). Not thread-safe, as
// httplib::Client is not: one thread uses it at a time.
std::unique_ptr<httplib::Client> MakeHttpClient(const HttpEndpoint& endpoint,
                                                const HttpClientOptions& options);

// "/v2/models/MODEL[/versions/VERSION]" followed by `suffix` (such as "/infer", or "" for the
// metadata), the segments percent-encoded where they hold anything but letters, digits and
// "-._~" (the server decodes them).
std::string ModelRoute(absl::string_view model, absl::string_view version,
                       absl::string_view suffix);

// The absl code for an HTTP status, inverting the server's mapping (server/http/http_status.h,
// Triton's where Triton has one): 400 INVALID_ARGUMENT, 404 NOT_FOUND, 429 RESOURCE_EXHAUSTED,
// 499 CANCELLED, 501 UNIMPLEMENTED, 503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, 401, 403, 409 as
// gRPC maps them; other 4xx INVALID_ARGUMENT, other 5xx INTERNAL; 2xx OK; anything else UNKNOWN.
absl::StatusCode StatusCodeFromHttp(int http_status);

// OK for a 2xx reply; otherwise StatusCodeFromHttp's code with the message of the JSON body's
// "error" (Triton's error reply), or with the start of a body that is not one, or "HTTP 404"
// for an empty body.
absl::Status StatusFromHttpReply(int http_status, absl::string_view body);

// The status of an exchange that got no reply: DEADLINE_EXCEEDED for a connection timeout,
// UNAVAILABLE for everything else (refused, reset, a read or write timeout), naming the endpoint
// and httplib's reason.
absl::Status StatusFromHttpError(httplib::Error error, const HttpEndpoint& endpoint);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_TRANSPORT_HTTP_ENDPOINT_H_
