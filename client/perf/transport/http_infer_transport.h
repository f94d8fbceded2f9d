// The performance analyzer's HTTP/REST transport (Triton's -i http): POST
// /v2/models/M[/versions/V]/infer with Triton's binary tensor data extension (http_infer_body.h)
// over keep-alive connections. As with the gRPC transport, "Client Send" is the time spent
// encoding a request and "Client Recv" the time spent checking its reply; reading and writing the
// socket count as network time.
#ifndef SPEECH_CLIENT_PERF_TRANSPORT_HTTP_INFER_TRANSPORT_H_
#define SPEECH_CLIENT_PERF_TRANSPORT_HTTP_INFER_TRANSPORT_H_

#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/perf/transport/http_endpoint.h"
#include "client/perf/transport/infer_transport.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// Thread-safe: any number of threads send at once. httplib's client serves one request at a
// time, so the transport keeps a pool of clients, each with its own keep-alive connection: a
// request takes an idle one (or makes one) and puts it back after, so N closed-loop clients hold
// N connections for as long as they run and never reconnect. AsyncInfer runs requests on the
// transport's own threads, made as needed. Shutdown: the destructor finishes the asynchronous
// requests already taken (running their `done`), then joins its threads; no call may be in
// progress or start once it runs.
class HttpInferTransport final : public InferTransport {
 public:
  struct Options {
    // Connection and I/O timeouts of every request (the analyzer's --connect-timeout-ms and
    // --request-timeout-ms).
    HttpClientOptions client;
    // Most threads running AsyncInfer requests at once: one is made whenever a request comes
    // and none is idle, and kept until the transport goes. A request beyond them waits for one,
    // and its latency includes the wait (the open loop of request-rate mode sees what a client
    // with fewer connections would). Must be positive.
    int max_async_threads = 256;
  };

  // `url` as ParseHttpEndpoint takes it ("localhost:8000"). INVALID_ARGUMENT for a bad URL or
  // bad options. Does not connect.
  static absl::StatusOr<std::unique_ptr<HttpInferTransport>> Create(Options options,
                                                                    absl::string_view url);

  ~HttpInferTransport() override;
  HttpInferTransport(const HttpInferTransport&) = delete;
  HttpInferTransport& operator=(const HttpInferTransport&) = delete;

  // Errors: the server's, as StatusFromHttpReply maps them (400 with {"error": "..."} is
  // INVALID_ARGUMENT with that message); UNAVAILABLE when no reply came (StatusFromHttpError);
  // DATA_LOSS for a reply without the outputs asked for (CheckHttpInferReply).
  InferOutcome Infer(const inference::ModelInferRequest& request) override;
  void AsyncInfer(const inference::ModelInferRequest& request,
                  std::function<void(const InferOutcome&)> done) override;

 private:
  struct AsyncRequest {
    const inference::ModelInferRequest* request;
    std::function<void(const InferOutcome&)> done;
    absl::Time start;
  };

  HttpInferTransport(Options options, HttpEndpoint endpoint);

  // One exchange, timed from `start` (before encoding, or when AsyncInfer took the request).
  InferOutcome Run(const inference::ModelInferRequest& request, absl::Time start);
  std::unique_ptr<httplib::Client> TakeClient();
  void ReturnClient(std::unique_ptr<httplib::Client> client);
  // The loop of one AsyncInfer thread: runs queued requests until the transport stops and the
  // queue is empty.
  void AsyncLoop();
  bool HasWorkOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(async_mu_);

  // Constant after construction.
  const Options options_;
  const HttpEndpoint endpoint_;

  absl::Mutex clients_mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_clients_ ABSL_GUARDED_BY(clients_mu_);

  absl::Mutex async_mu_;
  std::deque<AsyncRequest> queue_ ABSL_GUARDED_BY(async_mu_);
  std::vector<std::thread> async_threads_ ABSL_GUARDED_BY(async_mu_);
  int idle_async_threads_ ABSL_GUARDED_BY(async_mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(async_mu_) = false;
};

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_TRANSPORT_HTTP_INFER_TRANSPORT_H_
