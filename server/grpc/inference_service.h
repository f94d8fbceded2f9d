// The KServe v2 GRPCInferenceService (with Triton's configuration, repository-index, statistics
// and stream extensions) on gRPC's callback API: a thin adapter over the request core
// (server/core/inference_core.h). Replies are finished by whichever thread completes the request.
#ifndef SPEECH_SERVER_GRPC_INFERENCE_SERVICE_H_
#define SPEECH_SERVER_GRPC_INFERENCE_SERVICE_H_

#include "absl/time/time.h"
#include "proto/grpc_service.grpc.pb.h"
#include "server/core/in_flight_counter.h"
#include "server/core/inference_core.h"

namespace speech {

// The generated CallbackService with ModelInfer and ModelStreamInfer raw (gRPC takes a method
// one way or the other): they parse their requests themselves (server/grpc/raw_messages.h), so
// that a request that does not parse is answered like any other bad request.
namespace inference_service_internal {
using S = inference::GRPCInferenceService;
using Base = S::WithCallbackMethod_ServerLive<
    S::WithCallbackMethod_ServerReady<S::WithCallbackMethod_ModelReady<
        S::WithCallbackMethod_ServerMetadata<S::WithCallbackMethod_ModelMetadata<
            S::WithRawCallbackMethod_ModelInfer<S::WithRawCallbackMethod_ModelStreamInfer<
                S::WithCallbackMethod_ModelConfig<S::WithCallbackMethod_ModelStatistics<
                    S::WithCallbackMethod_RepositoryIndex<S::WithCallbackMethod_RepositoryModelLoad<
                        S::WithCallbackMethod_RepositoryModelUnload<
                            S::WithCallbackMethod_SystemSharedMemoryStatus<
                                S::WithCallbackMethod_SystemSharedMemoryRegister<
                                    S::WithCallbackMethod_SystemSharedMemoryUnregister<
                                        S::WithCallbackMethod_CudaSharedMemoryStatus<
                                            S::WithCallbackMethod_CudaSharedMemoryRegister<
                                                S::WithCallbackMethod_CudaSharedMemoryUnregister<
                                                    S::Service>>>>>>>>>>>>>>>>>>;
}  // namespace inference_service_internal
using InferenceServiceBase = inference_service_internal::Base;

// Thread-safe: gRPC calls the handlers from many threads. Borrows the core, which must outlive
// the service and every call in flight.
class InferenceService final : public InferenceServiceBase {
 public:
  explicit InferenceService(InferenceCore* core) : core_(core) {}

  grpc::ServerUnaryReactor* ServerLive(grpc::CallbackServerContext* context,
                                       const inference::ServerLiveRequest* request,
                                       inference::ServerLiveResponse* response) override;
  grpc::ServerUnaryReactor* ServerReady(grpc::CallbackServerContext* context,
                                        const inference::ServerReadyRequest* request,
                                        inference::ServerReadyResponse* response) override;
  grpc::ServerUnaryReactor* ModelReady(grpc::CallbackServerContext* context,
                                       const inference::ModelReadyRequest* request,
                                       inference::ModelReadyResponse* response) override;
  grpc::ServerUnaryReactor* ServerMetadata(grpc::CallbackServerContext* context,
                                           const inference::ServerMetadataRequest* request,
                                           inference::ServerMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* context,
                                        const inference::ModelConfigRequest* request,
                                        inference::ModelConfigResponse* response) override;
  grpc::ServerUnaryReactor* ModelStatistics(grpc::CallbackServerContext* context,
                                            const inference::ModelStatisticsRequest* request,
                                            inference::ModelStatisticsResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryIndex(grpc::CallbackServerContext* context,
                                            const inference::RepositoryIndexRequest* request,
                                            inference::RepositoryIndexResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryModelLoad(
      grpc::CallbackServerContext* context, const inference::RepositoryModelLoadRequest* request,
      inference::RepositoryModelLoadResponse* response) override;
  grpc::ServerUnaryReactor* RepositoryModelUnload(
      grpc::CallbackServerContext* context, const inference::RepositoryModelUnloadRequest* request,
      inference::RepositoryModelUnloadResponse* response) override;
  grpc::ServerUnaryReactor* SystemSharedMemoryStatus(
      grpc::CallbackServerContext* context,
      const inference::SystemSharedMemoryStatusRequest* request,
      inference::SystemSharedMemoryStatusResponse* response) override;
  grpc::ServerUnaryReactor* SystemSharedMemoryRegister(
      grpc::CallbackServerContext* context,
      const inference::SystemSharedMemoryRegisterRequest* request,
      inference::SystemSharedMemoryRegisterResponse* response) override;
  grpc::ServerUnaryReactor* SystemSharedMemoryUnregister(
      grpc::CallbackServerContext* context,
      const inference::SystemSharedMemoryUnregisterRequest* request,
      inference::SystemSharedMemoryUnregisterResponse* response) override;
  grpc::ServerUnaryReactor* CudaSharedMemoryStatus(
      grpc::CallbackServerContext* context, const inference::CudaSharedMemoryStatusRequest* request,
      inference::CudaSharedMemoryStatusResponse* response) override;
  grpc::ServerUnaryReactor* CudaSharedMemoryRegister(
      grpc::CallbackServerContext* context,
      const inference::CudaSharedMemoryRegisterRequest* request,
      inference::CudaSharedMemoryRegisterResponse* response) override;
  grpc::ServerUnaryReactor* CudaSharedMemoryUnregister(
      grpc::CallbackServerContext* context,
      const inference::CudaSharedMemoryUnregisterRequest* request,
      inference::CudaSharedMemoryUnregisterResponse* response) override;
  // A ModelInferRequest in, a ModelInferResponse out; INVALID_ARGUMENT when the request does
  // not parse.
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const grpc::ByteBuffer* request,
                                       grpc::ByteBuffer* response) override;
  // ModelInferRequests in, ModelStreamInferResponses out (stream_infer_reactor.h).
  grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* ModelStreamInfer(
      grpc::CallbackServerContext* context) override;

  // Waits until every ModelInfer and ModelStreamInfer call has sent its final status (or is
  // gone), or `timeout` passed; true when none is left. For a shutdown, after the core refused
  // new requests and its accepted ones are done: their replies may still be on their way out.
  bool WaitForInferenceCalls(absl::Duration timeout) const {
    return inference_calls_.WaitForNone(timeout);
  }

 private:
  InferenceCore* const core_;
  InFlightCounter inference_calls_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_GRPC_INFERENCE_SERVICE_H_
