#include "server/inference_service.h"

#include <chrono>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "batcher/tensor.h"
#include "server/model_stats.h"
#include "server/status_util.h"
#include "server/stream_infer_reactor.h"
#include "server/tensor_codec.h"

namespace speech {
namespace {

// Triton's names for the protocol extensions this server implements.
constexpr const char* kExtensions[] = {"model_configuration", "model_repository", "schedule_policy",
                                       "parameters", "statistics"};

grpc::ServerUnaryReactor* FinishNow(grpc::CallbackServerContext* context,
                                    const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

absl::Time DeadlineOf(const grpc::CallbackServerContext& context) {
  const auto deadline = context.deadline();
  // gRPC reports "no deadline" as the far end of the clock's range.
  if (deadline >= std::chrono::system_clock::now() + std::chrono::hours(24 * 365)) {
    return absl::InfiniteFuture();
  }
  return absl::FromChrono(deadline);
}

void FillTensorMetadata(const std::string& name, DataType type,
                        const google::protobuf::RepeatedField<int64_t>& dims, bool batching,
                        inference::ModelMetadataResponse::TensorMetadata* tensor) {
  tensor->set_name(name);
  tensor->set_datatype(std::string(DataTypeWireName(type)));
  if (batching) tensor->add_shape(-1);
  for (int64_t dim : dims) tensor->add_shape(dim);
}

}  // namespace

InferenceService::InferenceService(ModelRepository* repository, Options options)
    : repository_(repository), options_(std::move(options)) {}

void InferenceService::StartInference(const inference::ModelInferRequest* message,
                                      grpc::CallbackServerContext* context,
                                      inference::ModelInferResponse* response,
                                      std::function<void(absl::Status)> done) {
  // The request's duration, as metrics and statistics report it, runs from here to its reply.
  const absl::Time start = absl::Now();
  absl::StatusOr<ServedModel*> model =
      repository_->Find(message->model_name(), message->model_version());
  if (!model.ok()) return done(model.status());
  const ServedModel* served = *model;
  ModelStats* stats = served->stats.get();
  auto request = std::make_unique<InferenceRequest>();
  if (absl::Status decoded = DecodeInferRequest(*message, served->config, request.get());
      !decoded.ok()) {
    if (stats != nullptr) stats->RecordFailure(FailureReason::kOther, start, absl::Now());
    return done(absl::Status(
        decoded.code(), absl::StrCat("model '", message->model_name(), "': ", decoded.message())));
  }
  request->deadline = DeadlineOf(*context);
  request->is_cancelled = [context] { return context->IsCancelled(); };
  request->on_complete = [message, response, served, stats, start, done = std::move(done)](
                             std::unique_ptr<InferenceRequest> finished, absl::Status status) {
    if (status.ok()) {
      EncodeInferResponse(*message, served->version_string, finished.get(), response);
    }
    if (stats != nullptr) stats->RecordCompletion(*finished, status, start, absl::Now());
    done(std::move(status));
  };
  served->batcher->Enqueue(std::move(request));
}

grpc::ServerUnaryReactor* InferenceService::ServerLive(grpc::CallbackServerContext* context,
                                                       const inference::ServerLiveRequest*,
                                                       inference::ServerLiveResponse* response) {
  response->set_live(true);
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ServerReady(grpc::CallbackServerContext* context,
                                                        const inference::ServerReadyRequest*,
                                                        inference::ServerReadyResponse* response) {
  response->set_ready(repository_->AllReady());
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelReady(grpc::CallbackServerContext* context,
                                                       const inference::ModelReadyRequest* request,
                                                       inference::ModelReadyResponse* response) {
  absl::StatusOr<ServedModel*> model = repository_->Find(request->name(), request->version());
  response->set_ready(model.ok());
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ServerMetadata(
    grpc::CallbackServerContext* context, const inference::ServerMetadataRequest*,
    inference::ServerMetadataResponse* response) {
  response->set_name(options_.server_name);
  response->set_version(options_.server_version);
  for (const char* extension : kExtensions) response->add_extensions(extension);
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelMetadata(
    grpc::CallbackServerContext* context, const inference::ModelMetadataRequest* request,
    inference::ModelMetadataResponse* response) {
  absl::StatusOr<ServedModel*> model = repository_->Find(request->name(), request->version());
  if (!model.ok()) return FinishNow(context, model.status());
  const inference::ModelConfig& config = (*model)->config;
  response->set_name(config.name());
  for (const ServedModel* version : repository_->Versions(config.name())) {
    response->add_versions(version->version_string);
  }
  response->set_platform(config.platform());
  const bool batching = config.max_batch_size() > 0;
  for (const inference::ModelInput& input : config.input()) {
    FillTensorMetadata(input.name(), input.data_type(), input.dims(), batching,
                       response->add_inputs());
  }
  for (const inference::ModelOutput& output : config.output()) {
    FillTensorMetadata(output.name(), output.data_type(), output.dims(), batching,
                       response->add_outputs());
  }
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelConfig(
    grpc::CallbackServerContext* context, const inference::ModelConfigRequest* request,
    inference::ModelConfigResponse* response) {
  absl::StatusOr<ServedModel*> model = repository_->Find(request->name(), request->version());
  if (!model.ok()) return FinishNow(context, model.status());
  *response->mutable_config() = (*model)->config;
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::ModelStatistics(
    grpc::CallbackServerContext* context, const inference::ModelStatisticsRequest* request,
    inference::ModelStatisticsResponse* response) {
  std::vector<const ServedModel*> models;
  if (request->name().empty()) {
    models = repository_->AllVersions();
  } else if (request->version().empty()) {
    models = repository_->Versions(request->name());
    if (models.empty()) {
      // Find names the problem (not in the repository, or failed to load).
      absl::StatusOr<ServedModel*> model = repository_->Find(request->name(), "");
      return FinishNow(context, model.ok() ? absl::NotFoundError(absl::StrCat(
                                                 "model '", request->name(), "' has no version"))
                                           : model.status());
    }
  } else {
    absl::StatusOr<ServedModel*> model = repository_->Find(request->name(), request->version());
    if (!model.ok()) return FinishNow(context, model.status());
    models.push_back(*model);
  }
  for (const ServedModel* model : models) {
    inference::ModelStatistics* statistics = response->add_model_stats();
    if (model->stats != nullptr) {
      model->stats->Fill(statistics);
    } else {
      statistics->set_name(model->name);
      statistics->set_version(model->version_string);
    }
  }
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::RepositoryIndex(
    grpc::CallbackServerContext* context, const inference::RepositoryIndexRequest* request,
    inference::RepositoryIndexResponse* response) {
  for (const ModelState& state : repository_->Index()) {
    if (request->ready() && state.state != "READY") continue;
    inference::RepositoryIndexResponse::ModelIndex* index = response->add_models();
    index->set_name(state.name);
    index->set_version(state.version);
    index->set_state(state.state);
    index->set_reason(state.reason);
  }
  return FinishNow(context, absl::OkStatus());
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelLoad(
    grpc::CallbackServerContext* context, const inference::RepositoryModelLoadRequest* request,
    inference::RepositoryModelLoadResponse*) {
  return FinishNow(context,
                   absl::UnimplementedError(absl::StrCat(
                       "cannot load '", request->model_name(),
                       "': models are loaded once at start-up (model control mode none)")));
}

grpc::ServerUnaryReactor* InferenceService::RepositoryModelUnload(
    grpc::CallbackServerContext* context, const inference::RepositoryModelUnloadRequest* request,
    inference::RepositoryModelUnloadResponse*) {
  return FinishNow(context,
                   absl::UnimplementedError(absl::StrCat(
                       "cannot unload '", request->model_name(),
                       "': models are loaded once at start-up (model control mode none)")));
}

grpc::ServerUnaryReactor* InferenceService::ModelInfer(grpc::CallbackServerContext* context,
                                                       const inference::ModelInferRequest* request,
                                                       inference::ModelInferResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  StartInference(request, context, response,
                 [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
  return reactor;
}

grpc::ServerBidiReactor<inference::ModelInferRequest, inference::ModelStreamInferResponse>*
InferenceService::ModelStreamInfer(grpc::CallbackServerContext* context) {
  return new StreamInferReactor(this, context);
}

}  // namespace speech
