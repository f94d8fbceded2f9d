// What the performance analyzer asks of a server besides inference, over HTTP/REST (-i http):
// liveness, model metadata, configuration and statistics, read from Triton's JSON routes into
// the same messages the gRPC client returns, so that the rest of the analyzer does not care which
// protocol it measures (Triton's perf_analyzer also reads them over the protocol it measures).
#ifndef SPEECH_CLIENT_PERF_TRANSPORT_HTTP_MODEL_CLIENT_H_
#define SPEECH_CLIENT_PERF_TRANSPORT_HTTP_MODEL_CLIENT_H_

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "client/perf/transport/http_endpoint.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// Thread-safe: calls take turns on one keep-alive connection (they are rare: before measuring,
// and two statistics snapshots per window).
class HttpModelClient {
 public:
  struct Options {
    HttpClientOptions client;
  };

  // `url` as ParseHttpEndpoint takes it. INVALID_ARGUMENT for a bad URL or bad options. Does not
  // connect.
  static absl::StatusOr<std::unique_ptr<HttpModelClient>> Create(Options options,
                                                                 absl::string_view url);

  ~HttpModelClient();
  HttpModelClient(const HttpModelClient&) = delete;
  HttpModelClient& operator=(const HttpModelClient&) = delete;

  // GET /v2/health/live. OK when the server answers 2xx; UNAVAILABLE when it answers anything
  // else (saying it is not live, with the reply's error) or nothing (StatusFromHttpError's
  // message).
  absl::Status CheckLive() const;

  // GET /v2/models/M[/versions/V]: the server's error as StatusFromHttpReply maps it (an unknown
  // model is NOT_FOUND or INVALID_ARGUMENT, as over gRPC), UNAVAILABLE without a reply, DATA_LOSS
  // for a reply that is not the message in JSON. `version` empty: the server's choice. JSON
  // fields the message does not have are ignored (a newer server may send more).
  absl::StatusOr<inference::ModelMetadataResponse> ModelMetadata(absl::string_view model,
                                                                 absl::string_view version) const;
  // GET .../config, whose reply is the configuration itself (Triton's), wrapped here as gRPC
  // wraps it.
  absl::StatusOr<inference::ModelConfigResponse> ModelConfig(absl::string_view model,
                                                             absl::string_view version) const;
  // GET .../stats.
  absl::StatusOr<inference::ModelStatisticsResponse> ModelStatistics(
      absl::string_view model, absl::string_view version) const;

  const HttpEndpoint& endpoint() const { return endpoint_; }

 private:
  HttpModelClient(HttpEndpoint endpoint, std::unique_ptr<httplib::Client> client);

  // An HTTP reply of any status.
  struct Reply {
    int status = 0;
    std::string body;
  };

  // The reply to GET `path`, or StatusFromHttpError's status when none came.
  absl::StatusOr<Reply> Fetch(const std::string& path) const;
  // The body of a 2xx reply to GET `path`, or why there is none.
  absl::StatusOr<std::string> Get(const std::string& path) const;
  // GET `path` and parse its JSON reply into `message`.
  absl::Status GetMessage(const std::string& path, google::protobuf::Message* message) const;

  // Constant after construction.
  const HttpEndpoint endpoint_;

  mutable absl::Mutex mu_;
  const std::unique_ptr<httplib::Client> client_ ABSL_PT_GUARDED_BY(mu_);
};

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_TRANSPORT_HTTP_MODEL_CLIENT_H_
