#include "server/core/inference_core.h"

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/tensor_types.h"
#include "server/core/input_constraints.h"
#include "server/core/tensor_codec.h"
#include "server/metrics/model_stats.h"

namespace speech {
namespace {

// Triton's names for the protocol extensions this server implements.
constexpr const char* kExtensions[] = {"model_configuration", "model_repository", "schedule_policy",
                                       "parameters", "statistics"};

void FillTensorMetadata(const std::string& name, DataType type,
                        const google::protobuf::RepeatedField<int64_t>& dims, bool batching,
                        inference::ModelMetadataResponse::TensorMetadata* tensor) {
  tensor->set_name(name);
  tensor->set_datatype(std::string(DataTypeWireName(type)));
  if (batching) tensor->add_shape(-1);
  for (int64_t dim : dims) tensor->add_shape(dim);
}

}  // namespace

InferenceCore::InferenceCore(ModelRepository* repository, Options options)
    : repository_(repository), options_(std::move(options)) {}

void InferenceCore::StartInference(const inference::ModelInferRequest* message, CallContext call,
                                   inference::ModelInferResponse* response,
                                   std::function<void(absl::Status)> done) {
  Clock* const clock = options_.clock;
  // The request's duration, as metrics and statistics report it, runs from here to its reply.
  const absl::Time start = clock->Now();
  absl::StatusOr<ServedModel*> model =
      repository_->Find(message->model_name(), message->model_version());
  if (!model.ok()) return done(model.status());
  const ServedModel* served = *model;
  ModelStats* stats = served->stats.get();
  auto request = std::make_unique<InferenceRequest>();
  absl::Status decoded = DecodeInferRequest(*message, served->config, request.get());
  if (decoded.ok()) decoded = CheckInputConstraints(served->config, *request);
  if (!decoded.ok()) {
    if (stats != nullptr) stats->RecordFailure(FailureReason::kOther, start, clock->Now());
    return done(absl::Status(
        decoded.code(), absl::StrCat("model '", message->model_name(), "': ", decoded.message())));
  }
  request->deadline = call.deadline;
  request->is_cancelled = std::move(call.is_cancelled);
  request->on_complete = [message, response, served, stats, start, clock,
                          done = std::move(done)](std::unique_ptr<InferenceRequest> finished,
                                                  absl::Status status) {
    if (status.ok()) {
      EncodeInferResponse(*message, served->version_string, finished.get(), response);
    }
    if (stats != nullptr) stats->RecordCompletion(*finished, status, start, clock->Now());
    done(std::move(status));
  };
  served->batcher->Enqueue(std::move(request));
}

bool InferenceCore::ServerReady() const { return repository_->AllReady(); }

bool InferenceCore::ModelReady(const inference::ModelReadyRequest& request) const {
  return repository_->Find(request.name(), request.version()).ok();
}

void InferenceCore::ServerMetadata(inference::ServerMetadataResponse* response) const {
  response->set_name(options_.server_name);
  response->set_version(options_.server_version);
  for (const char* extension : kExtensions) response->add_extensions(extension);
}

absl::Status InferenceCore::ModelMetadata(const inference::ModelMetadataRequest& request,
                                          inference::ModelMetadataResponse* response) const {
  absl::StatusOr<ServedModel*> model = repository_->Find(request.name(), request.version());
  if (!model.ok()) return model.status();
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
  return absl::OkStatus();
}

absl::Status InferenceCore::ModelConfig(const inference::ModelConfigRequest& request,
                                        inference::ModelConfigResponse* response) const {
  absl::StatusOr<ServedModel*> model = repository_->Find(request.name(), request.version());
  if (!model.ok()) return model.status();
  *response->mutable_config() = (*model)->config;
  return absl::OkStatus();
}

absl::Status InferenceCore::ModelStatistics(const inference::ModelStatisticsRequest& request,
                                            inference::ModelStatisticsResponse* response) const {
  std::vector<const ServedModel*> models;
  if (request.name().empty()) {
    models = repository_->AllVersions();
  } else if (request.version().empty()) {
    models = repository_->Versions(request.name());
    if (models.empty()) {
      // Find names the problem (not in the repository, or failed to load).
      absl::StatusOr<ServedModel*> model = repository_->Find(request.name(), "");
      return model.ok() ? absl::NotFoundError(
                              absl::StrCat("model '", request.name(), "' has no version"))
                        : model.status();
    }
  } else {
    absl::StatusOr<ServedModel*> model = repository_->Find(request.name(), request.version());
    if (!model.ok()) return model.status();
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
  return absl::OkStatus();
}

void InferenceCore::RepositoryIndex(const inference::RepositoryIndexRequest& request,
                                    inference::RepositoryIndexResponse* response) const {
  for (const ModelState& state : repository_->Index()) {
    if (request.ready() && state.state != "READY") continue;
    inference::RepositoryIndexResponse::ModelIndex* index = response->add_models();
    index->set_name(state.name);
    index->set_version(state.version);
    index->set_state(state.state);
    index->set_reason(state.reason);
  }
}

absl::Status InferenceCore::RepositoryModelLoad(
    const inference::RepositoryModelLoadRequest& request) const {
  return absl::UnimplementedError(
      absl::StrCat("cannot load '", request.model_name(),
                   "': models are loaded once at start-up (model control mode none)"));
}

absl::Status InferenceCore::RepositoryModelUnload(
    const inference::RepositoryModelUnloadRequest& request) const {
  return absl::UnimplementedError(
      absl::StrCat("cannot unload '", request.model_name(),
                   "': models are loaded once at start-up (model control mode none)"));
}

}  // namespace speech
