// The KServe v2 REST endpoint (Triton's HTTP/REST API with its binary tensor data extension) on
// cpp-httplib: a thin adapter over the request core (server/core/inference_core.h), as
// server/grpc/ is. Routes: http_route.h; request and reply bodies: infer_request_json.h,
// infer_response_json.h, message_json.h; status codes: http_status.h.
#ifndef SPEECH_SERVER_HTTP_HTTP_SERVICE_H_
#define SPEECH_SERVER_HTTP_HTTP_SERVICE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/core/inference_core.h"

namespace httplib {
class ContentReader;
struct Request;
struct Response;
}  // namespace httplib

namespace speech {

class ConnectionServer;
struct RestRoute;

// Thread-safe. Owns its listening thread and its worker threads; borrows the core, which must
// outlive Shutdown (and so every request in flight). Shutdown order: stop accepting, let the
// requests being answered finish (their models' batchers must still run), join the threads.
class HttpService {
 public:
  struct Options {
    // Address to listen on (Triton's --http-address); "0.0.0.0" is every IPv4 interface.
    std::string address = "0.0.0.0";
    // TCP port (Triton's --http-port); 0 picks a free one (see port()).
    int port = 8000;
    // Most threads serving connections. httplib serves each connection on one thread, blocking,
    // for as long as it stays open, so this is how many clients are served at once; threads are
    // made as connections come (elastic_thread_pool.h), and a connection beyond the cap waits
    // for one to close. 256: far above what 64 clients need (perf_analyzer at concurrency 64
    // holds 65 connections, which a pool of 64 would leave hanging), with room for probes,
    // scrapers and idle keep-alive connections of pooled clients.
    int thread_count = 256;
    // Largest request body taken, after any Content-Encoding is undone. Larger ones get 413,
    // before they are read when their Content-Length says so.
    int64_t max_body_bytes = int64_t{256} << 20;
    // How long an idle keep-alive connection stays open: beyond the 60 s idle timeout of common
    // load balancers, so that the server never closes a connection one is about to reuse.
    int keep_alive_seconds = 75;
  };

  // Validates `options` (a port in [0, 65535], positive counts and sizes), binds and starts
  // serving. UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpService>> Create(InferenceCore* core, Options options);

  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // The port actually bound (useful when Options::port was 0).
  int port() const { return port_; }

  // Stops accepting connections and ends idle keep-alive ones (within 100 ms); requests being
  // answered go on. Returns at once. Idempotent.
  void StopAccepting();

  // StopAccepting, then waits for the requests in flight and joins every thread. Idempotent.
  void Shutdown();

 private:
  HttpService(InferenceCore* core, Options options);

  // The handlers httplib calls: before reading a body (every request), for the bodies of POST
  // routes, and for an "Expect: 100-continue" request (whose body is refused early when large).
  bool PreRoute(const httplib::Request& request, httplib::Response* reply) const;
  void ServeWithBody(const httplib::Request& request, httplib::Response* reply,
                     const httplib::ContentReader& read_body) const;
  int ExpectContinue(const httplib::Request& request, httplib::Response* reply) const;

  // Refuses (413, closing the connection) a request whose Content-Length is over the limit.
  bool RefuseIfTooLarge(const httplib::Request& request, httplib::Response* reply) const;
  void Serve(const RestRoute& route, const httplib::Request& request, absl::string_view body,
             httplib::Response* reply) const;
  void Infer(const RestRoute& route, const httplib::Request& request, absl::string_view body,
             httplib::Response* reply) const;

  // Constant after construction.
  InferenceCore* const core_;
  const Options options_;
  std::unique_ptr<ConnectionServer> server_;
  int port_ = 0;

  void StopLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::thread listener_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_HTTP_SERVICE_H_
