#include "server/core/inference_core.h"

#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "proto/tensor_types.h"
#include "server/core/decode/input_constraints.h"
#include "server/core/decode/tensor_codec.h"
#include "server/core/ensemble_run.h"
#include "server/metrics/model/model_stats.h"
#include "server/shared_memory/shared_memory_tensors.h"

namespace speech {
namespace {

// Triton's names for the protocol extensions this server implements.
constexpr const char* kExtensions[] = {"model_configuration", "model_repository",
                                       "schedule_policy",     "parameters",
                                       "statistics",          "system_shared_memory"};

void FillTensorMetadata(const std::string& name, DataType type,
                        const google::protobuf::RepeatedField<int64_t>& dims, bool batching,
                        inference::ModelMetadataResponse::TensorMetadata* tensor) {
  tensor->set_name(name);
  tensor->set_datatype(std::string(DataTypeWireName(type)));
  if (batching) tensor->add_shape(-1);
  for (int64_t dim : dims) tensor->add_shape(dim);
}

absl::Status NoCudaRegion(const std::string& name) {
  return absl::NotFoundError(absl::StrCat("no CUDA shared-memory region '", name,
                                          "' is registered (this server registers none)"));
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
  if (refusing_.load()) {
    return done(absl::UnavailableError(
        "the server is shutting down and takes no new requests; retry on another replica"));
  }
  // Counted from here until `done` is called (WaitForAcceptedRequests waits for it). Not after
  // it: `done` may let the owner of the core go on to destroy it.
  accepted_.Enter();
  done = [this, done = std::move(done)](absl::Status status) {
    accepted_.Leave();
    done(std::move(status));
  };
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      repository_->Find(message->model_name(), message->model_version());
  if (!model.ok()) return done(model.status());
  // Held until the reply: a version replaced or unloaded meanwhile finishes this request first.
  std::shared_ptr<const ServedModel> served = *std::move(model);
  ModelStats* stats = served->stats.get();
  auto request = std::make_unique<InferenceRequest>();
  // Lent until the reply is encoded: the inputs are read in place, the outputs written there.
  absl::Status decoded = CheckElementLimits(*message, options_.limits);
  absl::StatusOr<SharedMemoryTensors> lent = SharedMemoryTensors();
  if (decoded.ok()) {
    lent = LendSharedMemory(*message, shared_memory_);
    decoded = lent.status();
  }
  if (decoded.ok()) {
    decoded = DecodeInferRequest(*message, served->config, request.get(), lent->inputs);
  }
  if (decoded.ok()) decoded = CheckInputConstraints(served->config, *request);
  if (!decoded.ok()) {
    if (stats != nullptr) stats->RecordFailure(FailureReason::kOther, start, clock->Now());
    // The regions go back before the reply: a client may unregister them as soon as it has it.
    if (lent.ok()) *lent = SharedMemoryTensors();
    return done(absl::Status(
        decoded.code(), absl::StrCat("model '", message->model_name(), "': ", decoded.message())));
  }
  // Held from here until the reply; refused, as a full queue is, past the model's limit.
  const int64_t bytes = InputBytes(*request);
  const int64_t max_bytes = options_.limits.max_queued_bytes_per_model;
  const int64_t queued = served->queued_input_bytes.fetch_add(bytes) + bytes;
  if (max_bytes > 0 && queued > max_bytes) {
    served->queued_input_bytes.fetch_sub(bytes);
    *lent = SharedMemoryTensors();
    if (bytes > max_bytes) {  // never fits, so no retry can help
      if (stats != nullptr) stats->RecordFailure(FailureReason::kOther, start, clock->Now());
      return done(absl::InvalidArgumentError(
          absl::StrCat("model '", message->model_name(), "': the request's ", bytes,
                       " input bytes are more than a model may hold queued, ", max_bytes,
                       " (--max-queued-bytes-per-model)")));
    }
    if (stats != nullptr) stats->RecordFailure(FailureReason::kRejected, start, clock->Now());
    return done(absl::ResourceExhaustedError(
        absl::StrCat("model '", message->model_name(), "': its queued requests would hold ", queued,
                     " input bytes with this request's ", bytes, "; the limit is ", max_bytes,
                     " (--max-queued-bytes-per-model); retry later")));
  }
  request->deadline = call.deadline;
  request->is_cancelled = std::move(call.is_cancelled);
  // The lambda holds the only reference: a copy left here could keep the regions lent past the
  // reply when the request completes before StartInference returns.
  request->on_complete = [message, response, served, stats, start, clock, bytes,
                          shared_memory =
                              std::make_shared<const SharedMemoryTensors>(*std::move(lent)),
                          done = std::move(done)](std::unique_ptr<InferenceRequest> finished,
                                                  absl::Status status) mutable {
    if (status.ok()) {
      status = EncodeInferResponse(*message, served->version_string, finished.get(), response,
                                   shared_memory->outputs);
      if (!status.ok()) {
        status = absl::Status(
            status.code(), absl::StrCat("model '", message->model_name(), "': ", status.message()));
      }
    }
    if (stats != nullptr) stats->RecordCompletion(*finished, status, start, clock->Now());
    served->queued_input_bytes.fetch_sub(bytes);
    shared_memory.reset();  // as above: back before the reply
    done(std::move(status));
  };
  DynamicBatcher* const batcher = served->batcher.get();
  if (batcher == nullptr) {  // an ensemble: its steps run on their models' batchers
    RunEnsemble(served, std::move(request), repository_, clock);
    return;
  }
  batcher->Enqueue(std::move(request));
}

bool InferenceCore::ServerReady() const { return !draining_.load() && repository_->AllReady(); }

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
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      repository_->Find(request.name(), request.version());
  if (!model.ok()) return model.status();
  const inference::ModelConfig& config = (*model)->config;
  response->set_name(config.name());
  for (const std::shared_ptr<const ServedModel>& version : repository_->Versions(config.name())) {
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
  absl::StatusOr<std::shared_ptr<const ServedModel>> model =
      repository_->Find(request.name(), request.version());
  if (!model.ok()) return model.status();
  *response->mutable_config() = (*model)->config;
  return absl::OkStatus();
}

absl::Status InferenceCore::ModelStatistics(const inference::ModelStatisticsRequest& request,
                                            inference::ModelStatisticsResponse* response) const {
  std::vector<std::shared_ptr<const ServedModel>> models;
  if (request.name().empty()) {
    models = repository_->AllVersions();
  } else if (request.version().empty()) {
    models = repository_->Versions(request.name());
    if (models.empty()) {
      // Find names the problem (not in the repository, or failed to load).
      absl::StatusOr<std::shared_ptr<const ServedModel>> model =
          repository_->Find(request.name(), "");
      return model.ok()
                 ? absl::NotFoundError(absl::StrCat("model '", request.name(), "' has no version"))
                 : model.status();
    }
  } else {
    absl::StatusOr<std::shared_ptr<const ServedModel>> model =
        repository_->Find(request.name(), request.version());
    if (!model.ok()) return model.status();
    models.push_back(*std::move(model));
  }
  for (const std::shared_ptr<const ServedModel>& model : models) {
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

absl::Status InferenceCore::CheckModelControl(absl::string_view verb,
                                              const std::string& model) const {
  const ModelControlMode mode = repository_->control_mode();
  if (mode == ModelControlMode::kExplicit) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("cannot ", verb, " model '", model,
                   "': explicit model load / unload is not allowed in model "
                   "control mode '",
                   ModelControlModeName(mode),
                   "' (start the server with "
                   "--model-control-mode=explicit)"));
}

absl::Status InferenceCore::RepositoryModelLoad(
    const inference::RepositoryModelLoadRequest& request) const {
  if (absl::Status allowed = CheckModelControl("load", request.model_name()); !allowed.ok()) {
    return allowed;
  }
  std::optional<std::string> config;
  for (const auto& [key, value] : request.parameters()) {
    if (key != "config") {
      return absl::InvalidArgumentError(absl::StrCat(
          "failed to load '", request.model_name(), "': parameter '", key,
          "' is not supported; the only load parameter is 'config' (the model configuration in "
          "JSON)",
          absl::StartsWith(key, "file:") ? "; model files cannot be sent with a load" : ""));
    }
    if (value.parameter_choice_case() != inference::ModelRepositoryParameter::kStringParam) {
      return absl::InvalidArgumentError(absl::StrCat(
          "failed to load '", request.model_name(),
          "': parameter 'config' must be a string holding the model configuration in JSON"));
    }
    config = value.string_param();
  }
  // Triton's wording, which its clients (and NVIDIA's examples) look for.
  const absl::Status loaded = repository_->LoadModel(request.model_name(), config);
  if (loaded.ok()) return loaded;
  return absl::Status(loaded.code(), absl::StrCat("failed to load '", request.model_name(),
                                                  "': ", loaded.message()));
}

absl::Status InferenceCore::RepositoryModelUnload(
    const inference::RepositoryModelUnloadRequest& request) const {
  if (absl::Status allowed = CheckModelControl("unload", request.model_name()); !allowed.ok()) {
    return allowed;
  }
  bool unload_dependents = false;
  for (const auto& [key, value] : request.parameters()) {
    if (key != "unload_dependents") {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot unload model '", request.model_name(), "': parameter '", key,
                       "' is not supported; the only unload parameter is 'unload_dependents'"));
    }
    if (value.parameter_choice_case() != inference::ModelRepositoryParameter::kBoolParam) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot unload model '", request.model_name(),
                       "': parameter 'unload_dependents' must be true or false"));
    }
    unload_dependents = value.bool_param();
  }
  return repository_->UnloadModel(request.model_name(), unload_dependents);
}

absl::Status InferenceCore::SystemSharedMemoryStatus(
    const inference::SystemSharedMemoryStatusRequest& request,
    inference::SystemSharedMemoryStatusResponse* response) const {
  absl::StatusOr<std::vector<SharedMemoryRegistry::Region>> regions =
      shared_memory_.Status(request.name());
  if (!regions.ok()) return regions.status();
  for (const SharedMemoryRegistry::Region& region : *regions) {
    auto& entry = (*response->mutable_regions())[region.name];
    entry.set_name(region.name);
    entry.set_key(region.key);
    entry.set_offset(region.offset);
    entry.set_byte_size(region.byte_size);
  }
  return absl::OkStatus();
}

absl::Status InferenceCore::SystemSharedMemoryRegister(
    const inference::SystemSharedMemoryRegisterRequest& request) {
  return shared_memory_.Register(
      {request.name(), request.key(), request.offset(), request.byte_size()});
}

absl::Status InferenceCore::SystemSharedMemoryUnregister(
    const inference::SystemSharedMemoryUnregisterRequest& request) {
  return shared_memory_.Unregister(request.name());
}

absl::Status InferenceCore::CudaSharedMemoryStatus(
    const inference::CudaSharedMemoryStatusRequest& request,
    inference::CudaSharedMemoryStatusResponse*) const {
  return request.name().empty() ? absl::OkStatus() : NoCudaRegion(request.name());
}

absl::Status InferenceCore::CudaSharedMemoryRegister(
    const inference::CudaSharedMemoryRegisterRequest& request) {
  return absl::UnimplementedError(
      absl::StrCat("cannot register CUDA shared-memory region '", request.name(), "' (device ",
                   request.device_id(),
                   "): this server supports system shared memory only; register a POSIX "
                   "shared-memory object with SystemSharedMemoryRegister instead"));
}

absl::Status InferenceCore::CudaSharedMemoryUnregister(
    const inference::CudaSharedMemoryUnregisterRequest& request) {
  return request.name().empty() ? absl::OkStatus() : NoCudaRegion(request.name());
}

}  // namespace speech
