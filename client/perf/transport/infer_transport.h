// How the performance analyzer sends one inference request and times it. The gRPC transport
// serialises the request and parses the response itself (over a generic stub on the client
// library's channel) so that "Client Send" and "Client Recv" are measured, not guessed; the bytes
// on the wire are those of the typed ModelInfer stub.
#ifndef SPEECH_CLIENT_PERF_TRANSPORT_INFER_TRANSPORT_H_
#define SPEECH_CLIENT_PERF_TRANSPORT_INFER_TRANSPORT_H_

#include <functional>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// The fate of one request.
struct InferOutcome {
  absl::Status status;
  // Serialising the request and parsing the response (zero when not reached).
  absl::Duration send = absl::ZeroDuration();
  absl::Duration recv = absl::ZeroDuration();
  // From the start of serialising to the end of parsing.
  absl::Duration latency = absl::ZeroDuration();
};

// Implementations are thread-safe: any number of threads send at once.
class InferTransport {
 public:
  virtual ~InferTransport() = default;

  // Sends `request` and blocks until its response is parsed or it fails.
  virtual InferOutcome Infer(const inference::ModelInferRequest& request) = 0;

  // Sends `request` and returns; `done` runs once with the outcome, on a transport thread or,
  // when the call fails at once, possibly on the caller's. `request` must outlive the call.
  virtual void AsyncInfer(const inference::ModelInferRequest& request,
                          std::function<void(const InferOutcome&)> done) = 0;
};

// ModelInfer over a gRPC channel. Thread-safe; shares the channel.
class GrpcInferTransport final : public InferTransport {
 public:
  struct Options {
    // Deadline of each request from its start. Must be positive.
    absl::Duration request_timeout = absl::Seconds(30);
  };

  // INVALID_ARGUMENT for a null channel or a non-positive timeout.
  static absl::StatusOr<std::unique_ptr<GrpcInferTransport>> Create(
      Options options, std::shared_ptr<grpc::Channel> channel);

  InferOutcome Infer(const inference::ModelInferRequest& request) override;
  void AsyncInfer(const inference::ModelInferRequest& request,
                  std::function<void(const InferOutcome&)> done) override;

 private:
  GrpcInferTransport(Options options, std::shared_ptr<grpc::Channel> channel);

  // Constant after construction.
  const Options options_;
  const std::shared_ptr<grpc::Channel> channel_;
  grpc::GenericStub generic_stub_;  // thread-safe
};

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_TRANSPORT_INFER_TRANSPORT_H_
