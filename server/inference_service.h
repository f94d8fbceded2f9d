// The KServe v2 GRPCInferenceService (with Triton's configuration, repository-index, statistics
// and stream extensions) on gRPC's callback API. Handlers decode and validate, then hand requests
// to the model's batcher; replies are finished by whichever thread completes the request.
#ifndef SPEECH_SERVER_INFERENCE_SERVICE_H_
#define SPEECH_SERVER_INFERENCE_SERVICE_H_

#include <functional>
#include <string>

#include "proto/grpc_service.grpc.pb.h"
#include "server/model_repository.h"

namespace speech {

// Thread-safe: gRPC calls the handlers from many threads. Does not own the repository, which
// must outlive the service and every call in flight.
class InferenceService final : public inference::GRPCInferenceService::CallbackService {
 public:
  struct Options {
    std::string server_name = "speech-inference-server";
    std::string server_version = "0.1.0";
  };

  InferenceService(ModelRepository* repository, Options options);

  // Decodes `message`, hands it to its model's batcher and, once it is done, fills `response`
  // and calls `done` exactly once (possibly before returning, for requests refused at once).
  // `message` and `response` must stay valid until `done` runs. Records the outcome in the
  // model's ModelStats (when it has some) just before calling `done`.
  void StartInference(const inference::ModelInferRequest* message,
                      grpc::CallbackServerContext* context, inference::ModelInferResponse* response,
                      std::function<void(absl::Status)> done);

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
  // Triton's statistics extension: every loaded version of every model when the name is empty,
  // every loaded version of the named model when the version is empty; NOT_FOUND for a model
  // or version that is not loaded.
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
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override;
  grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>*
  ModelStreamInfer(grpc::CallbackServerContext* context) override;

 private:
  // Constant after construction.
  ModelRepository* const repository_;
  const Options options_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_INFERENCE_SERVICE_H_
