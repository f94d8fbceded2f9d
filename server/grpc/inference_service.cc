#include "server/grpc/inference_service.h"

#include <utility>

#include "server/grpc/call_context.h"
#include "server/grpc/raw_messages.h"
#include "server/grpc/reactor_handoff.h"
#include "server/grpc/status_util.h"
#include "server/grpc/stream_infer_reactor.h"

namespace speech {
namespace {

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

// A ModelInfer call's reactor, with the call's request and response, counted in `calls` until
// gRPC is done with it; owns itself.
class InferReactor final : public grpc::ServerUnaryReactor {
 public:
  explicit InferReactor(InFlightCounter* calls) : calls_(calls) { calls_->Enter(); }
  void OnDone() override {
    TakeBackFromGrpc(this);
    calls_->Leave();
    delete this;
  }

  inference::ModelInferRequest request;
  inference::ModelInferResponse response;

 private:
  InFlightCounter* const calls_;
};

}  // namespace

grpc::ServerUnaryReactor* InferenceService::ServerLive(grpc::CallbackServerContext* context,
                                                       const inference::ServerLiveRequest*,
                                                       inference::ServerLiveResponse* response) {
  response->set_live(core_->ServerLive());
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ServerReady(grpc::CallbackServerContext* context,
                                                        const inference::ServerReadyRequest*,
                                                        inference::ServerReadyResponse* response) {
  response->set_ready(core_->ServerReady());
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelReady(grpc::CallbackServerContext* context,
                                                       const inference::ModelReadyRequest* request,
                                                       inference::ModelReadyResponse* response) {
  response->set_ready(core_->ModelReady(*request));
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ServerMetadata(
    grpc::CallbackServerContext* context, const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  core_->ServerMetadata(response);
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelMetadata(
    grpc::CallbackServerContext* context, const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  return FinishNow(context, core_->ModelMetadata(*request, response));
}

grpc::ServerUnaryReactor* InferenceService::ModelConfig(
    grpc::CallbackServerContext* context, const inference::ModelConfigRequest* request,
    inference::ModelConfigResponse* response) {
  return FinishNow(context, core_->ModelConfig(*request, response));
}

grpc::ServerUnaryReactor* InferenceService::ModelStatistics(
    grpc::CallbackServerContext* context, const inference::ModelStatisticsRequest* request,
    inference::ModelStatisticsResponse* response) {
  return FinishNow(context, core_->ModelStatistics(*request, response));
}

grpc::ServerUnaryReactor* InferenceService::RepositoryIndex(
    grpc::CallbackServerContext* context, const inference::RepositoryIndexRequest* request,
    inference::RepositoryIndexResponse* response) {
  core_->RepositoryIndex(*request, response);
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelLoad(
    grpc::CallbackServerContext* context, const inference::RepositoryModelLoadRequest* request,
    inference::RepositoryModelLoadResponse*) {
  return FinishNow(context, core_->RepositoryModelLoad(*request));
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelUnload(
    grpc::CallbackServerContext* context, const inference::RepositoryModelUnloadRequest* request,
    inference::RepositoryModelUnloadResponse*) {
  return FinishNow(context, core_->RepositoryModelUnload(*request));
}

grpc::ServerUnaryReactor* InferenceService::SystemSharedMemoryStatus(
    grpc::CallbackServerContext* context, const inference::SystemSharedMemoryStatusRequest* request,
    inference::SystemSharedMemoryStatusResponse* response) {
  return FinishNow(context, core_->SystemSharedMemoryStatus(*request, response));
}

grpc::ServerUnaryReactor* InferenceService::SystemSharedMemoryRegister(
    grpc::CallbackServerContext* context,
    const inference::SystemSharedMemoryRegisterRequest* request,
    inference::SystemSharedMemoryRegisterResponse*) {
  return FinishNow(context, core_->SystemSharedMemoryRegister(*request));
}

grpc::ServerUnaryReactor* InferenceService::SystemSharedMemoryUnregister(
    grpc::CallbackServerContext* context,
    const inference::SystemSharedMemoryUnregisterRequest* request,
    inference::SystemSharedMemoryUnregisterResponse*) {
  return FinishNow(context, core_->SystemSharedMemoryUnregister(*request));
}

grpc::ServerUnaryReactor* InferenceService::CudaSharedMemoryStatus(
    grpc::CallbackServerContext* context, const inference::CudaSharedMemoryStatusRequest* request,
    inference::CudaSharedMemoryStatusResponse* response) {
  return FinishNow(context, core_->CudaSharedMemoryStatus(*request, response));
}

grpc::ServerUnaryReactor* InferenceService::CudaSharedMemoryRegister(
    grpc::CallbackServerContext* context, const inference::CudaSharedMemoryRegisterRequest* request,
    inference::CudaSharedMemoryRegisterResponse*) {
  return FinishNow(context, core_->CudaSharedMemoryRegister(*request));
}

grpc::ServerUnaryReactor* InferenceService::CudaSharedMemoryUnregister(
    grpc::CallbackServerContext* context,
    const inference::CudaSharedMemoryUnregisterRequest* request,
    inference::CudaSharedMemoryUnregisterResponse*) {
  return FinishNow(context, core_->CudaSharedMemoryUnregister(*request));
}

grpc::ServerUnaryReactor* InferenceService::ModelInfer(grpc::CallbackServerContext* context,
                                                       const grpc::ByteBuffer* request,
                                                       grpc::ByteBuffer* response) {
  auto* reactor = new InferReactor(&inference_calls_);
  const absl::Status parsed = ParseInferRequest(*request, &reactor->request);
  if (!parsed.ok()) {
    HandOffAndFinish(reactor, ToGrpcStatus(parsed));
    return reactor;
  }
  core_->StartInference(&reactor->request, CallContextOf(context), &reactor->response,
                        [reactor, response](absl::Status status) {
                          if (status.ok()) status = SerializeReply(reactor->response, response);
                          HandOffAndFinish(reactor, ToGrpcStatus(status));
                        });
  return reactor;
}

grpc::ServerBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>* InferenceService::ModelStreamInfer(
    grpc::CallbackServerContext* context) {
  return new StreamInferReactor(core_, context, &inference_calls_);
}

}  // namespace speech
