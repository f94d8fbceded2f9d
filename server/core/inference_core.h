// The protocol-neutral request core: every KServe v2 operation (health, metadata, configuration,
// statistics, repository index, inference) answered once, in the protocol's own messages, for the
// adapters that carry it (server/grpc/ today). Inference decodes and validates the request, hands
// it to its model's batcher and encodes the reply; statistics are recorded here, once per request.
#ifndef SPEECH_SERVER_CORE_INFERENCE_CORE_H_
#define SPEECH_SERVER_CORE_INFERENCE_CORE_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "batcher/clock.h"
#include "proto/grpc_service.pb.h"
#include "server/repository/model_repository.h"

namespace speech {

// What an adapter knows of the call that carries a request.
struct CallContext {
  // The client's deadline; a request still queued when it passes is dropped uncomputed.
  absl::Time deadline = absl::InfiniteFuture();
  // True once the client has gone; empty when the transport cannot tell. Must be thread-safe.
  std::function<bool()> is_cancelled;
};

// Thread-safe: adapters call it from many threads. Borrows the repository and the clock, which
// must outlive the core and every request in flight.
class InferenceCore {
 public:
  struct Options {
    std::string server_name = "speech-inference-server";
    std::string server_version = "0.1.0";
    // Stamps each request's start and end (its duration in metrics and statistics).
    Clock* clock = RealClock::Get();
  };

  InferenceCore(ModelRepository* repository, Options options);

  // Decodes `message`, checks the model's input constraints, hands it to its model's batcher and, once it is done, fills `response`
  // and calls `done` exactly once (possibly before returning, for requests refused at once).
  // `message` and `response` must stay valid until `done` runs. Records the outcome in the
  // model's statistics (when it has some) just before calling `done`.
  void StartInference(const inference::ModelInferRequest* message, CallContext call,
                      inference::ModelInferResponse* response,
                      std::function<void(absl::Status)> done);

  bool ServerLive() const { return true; }
  // True when every model of the repository loaded.
  bool ServerReady() const;
  bool ModelReady(const inference::ModelReadyRequest& request) const;
  void ServerMetadata(inference::ServerMetadataResponse* response) const;
  // NOT_FOUND for a model or version that is not loaded, in each of the lookups below.
  absl::Status ModelMetadata(const inference::ModelMetadataRequest& request,
                             inference::ModelMetadataResponse* response) const;
  absl::Status ModelConfig(const inference::ModelConfigRequest& request,
                           inference::ModelConfigResponse* response) const;
  // Triton's statistics extension: every loaded version of every model when the name is empty,
  // every loaded version of the named model when the version is empty.
  absl::Status ModelStatistics(const inference::ModelStatisticsRequest& request,
                               inference::ModelStatisticsResponse* response) const;
  void RepositoryIndex(const inference::RepositoryIndexRequest& request,
                       inference::RepositoryIndexResponse* response) const;
  // UNIMPLEMENTED: models are loaded once at start-up (model control mode none).
  absl::Status RepositoryModelLoad(const inference::RepositoryModelLoadRequest& request) const;
  absl::Status RepositoryModelUnload(const inference::RepositoryModelUnloadRequest& request) const;

 private:
  // Constant after construction.
  ModelRepository* const repository_;
  const Options options_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_INFERENCE_CORE_H_
