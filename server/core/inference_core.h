// The protocol-neutral request core: every KServe v2 operation (health, metadata, configuration,
// statistics, repository index and model control, inference) answered once, in the protocol's
// own messages, for the adapters that carry it (server/grpc/ and server/http/). Inference decodes
// and validates the request, hands it to its model's batcher and encodes the reply; statistics
// are recorded here, once per request.
#ifndef SPEECH_SERVER_CORE_INFERENCE_CORE_H_
#define SPEECH_SERVER_CORE_INFERENCE_CORE_H_

#include <atomic>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "batcher/clock.h"
#include "proto/grpc_service.pb.h"
#include "server/core/decode/request_limits.h"
#include "server/core/in_flight_counter.h"
#include "server/repository/model_repository.h"
#include "server/shared_memory/shared_memory_registry.h"

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
    // Checked on every inference request before it is decoded and before it is queued.
    RequestLimits limits;
  };

  InferenceCore(ModelRepository* repository, Options options);

  // Checks `message` against the element limits, decodes it, checks the model's input
  // constraints and the model's queued bytes (RESOURCE_EXHAUSTED past them), hands it to its
  // model's batcher and,
  // once it is done, fills `response` and calls `done` exactly once (possibly before returning,
  // for requests refused at once: UNAVAILABLE once RefuseNewRequests was called).
  // `message` and `response` must stay valid until `done` runs. Records the outcome in the
  // model's statistics (when it has some) just before calling `done`.
  void StartInference(const inference::ModelInferRequest* message, CallContext call,
                      inference::ModelInferResponse* response,
                      std::function<void(absl::Status)> done);

  bool ServerLive() const { return true; }
  // True when every model of the repository loaded and the server is not draining.
  bool ServerReady() const;

  // The steps of a graceful shutdown, in this order. StartDraining: ServerReady turns false (a
  // load balancer stops sending) while requests are still served. RefuseNewRequests: inference
  // answers UNAVAILABLE at once; requests already accepted still complete.
  void StartDraining() { draining_.store(true); }
  void RefuseNewRequests() { refusing_.store(true); }
  // Waits until every accepted inference request has reached its `done`, or `timeout` passed;
  // true when none is left. Meant after RefuseNewRequests, before the transports shut down
  // (which must then wait for the replies that `done` started to be sent).
  bool WaitForAcceptedRequests(absl::Duration timeout) { return accepted_.WaitForNone(timeout); }
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
  // Triton's model control: allowed in model control mode explicit only (UNAVAILABLE, naming
  // the mode, otherwise). A load takes one parameter, "config" (a string: the model
  // configuration in JSON, replacing config.pbtxt); an unload one, "unload_dependents" (a bool:
  // also unload the ensembles that run the model). Any other parameter, or one of the wrong
  // type, is INVALID_ARGUMENT naming it. Loading returns once the model serves, or with why not.
  absl::Status RepositoryModelLoad(const inference::RepositoryModelLoadRequest& request) const;
  absl::Status RepositoryModelUnload(const inference::RepositoryModelUnloadRequest& request) const;

  // Triton's system shared-memory extension (see server/shared_memory/): the status of one
  // region (NOT_FOUND when unknown) or of all when the name is empty; registering a region;
  // unregistering one, or all when the name is empty (FAILED_PRECONDITION while requests in
  // flight use it). Inference requests whose tensors name a region read and write it in place.
  absl::Status SystemSharedMemoryStatus(
      const inference::SystemSharedMemoryStatusRequest& request,
      inference::SystemSharedMemoryStatusResponse* response) const;
  absl::Status SystemSharedMemoryRegister(
      const inference::SystemSharedMemoryRegisterRequest& request);
  absl::Status SystemSharedMemoryUnregister(
      const inference::SystemSharedMemoryUnregisterRequest& request);
  // CUDA shared memory: this server holds no CUDA regions. The status of all is empty and
  // unregistering all succeeds (Triton's clients clean up so before they start); a named region
  // is NOT_FOUND; registering is UNIMPLEMENTED, with a message that points to system memory.
  absl::Status CudaSharedMemoryStatus(const inference::CudaSharedMemoryStatusRequest& request,
                                      inference::CudaSharedMemoryStatusResponse* response) const;
  absl::Status CudaSharedMemoryRegister(const inference::CudaSharedMemoryRegisterRequest& request);
  absl::Status CudaSharedMemoryUnregister(
      const inference::CudaSharedMemoryUnregisterRequest& request);

 private:
  // OK in model control mode explicit; UNAVAILABLE naming the mode otherwise.
  absl::Status CheckModelControl(absl::string_view verb, const std::string& model) const;

  // Constant after construction.
  ModelRepository* const repository_;
  const Options options_;

  // Thread-safe.
  SharedMemoryRegistry shared_memory_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> refusing_{false};
  // Inference requests accepted and not yet done.
  InFlightCounter accepted_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_INFERENCE_CORE_H_
