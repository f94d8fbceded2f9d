#include "tests/fakes/fake_inference_service.h"

#include <string>

namespace speech {
namespace {

grpc::Status UnknownModel(const std::string& name) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown model: " + name);
}

}  // namespace

inference::ModelMetadataResponse FakeInferenceService::AsrMetadata() {
  inference::ModelMetadataResponse metadata;
  metadata.set_name("asr");
  metadata.add_versions("1");
  metadata.set_platform("fake");
  auto* audio = metadata.add_inputs();
  audio->set_name("AUDIO");
  audio->set_datatype("FP32");
  for (int64_t dim : {-1, 80, -1}) audio->add_shape(dim);
  auto* lengths = metadata.add_inputs();
  lengths->set_name("LENGTHS");
  lengths->set_datatype("INT64");
  for (int64_t dim : {-1, 1}) lengths->add_shape(dim);
  *metadata.add_outputs() = metadata.inputs(0);
  *metadata.add_outputs() = metadata.inputs(1);
  return metadata;
}

inference::ModelInferRequest FakeInferenceService::last_request() const {
  absl::MutexLock lock(&mutex_);
  return last_request_;
}

grpc::Status FakeInferenceService::ServerLive(grpc::ServerContext*,
                                              const inference::ServerLiveRequest*,
                                              inference::ServerLiveResponse* response) {
  response->set_live(true);
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::ModelReady(grpc::ServerContext*,
                                              const inference::ModelReadyRequest* request,
                                              inference::ModelReadyResponse* response) {
  response->set_ready(request->name() == "asr" &&
                      (request->version().empty() || request->version() == "1"));
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::ServerMetadata(grpc::ServerContext*,
                                                  const inference::ServerMetadataRequest*,
                                                  inference::ServerMetadataResponse* response) {
  response->set_name("fake");
  response->set_version("0");
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::ModelMetadata(grpc::ServerContext*,
                                                 const inference::ModelMetadataRequest* request,
                                                 inference::ModelMetadataResponse* response) {
  if (request->name() != "asr") return UnknownModel(request->name());
  *response = AsrMetadata();
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::ModelConfig(grpc::ServerContext*,
                                               const inference::ModelConfigRequest* request,
                                               inference::ModelConfigResponse* response) {
  if (request->name() != "asr") return UnknownModel(request->name());
  response->mutable_config()->set_name("asr");
  response->mutable_config()->set_max_batch_size(8);
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::ModelInfer(grpc::ServerContext*,
                                              const inference::ModelInferRequest* request,
                                              inference::ModelInferResponse* response) {
  if (request->model_name() != "asr") return UnknownModel(request->model_name());
  if (request->raw_input_contents_size() != request->inputs_size()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expected raw contents per input");
  }
  {
    absl::MutexLock lock(&mutex_);
    last_request_ = *request;
  }
  response->set_model_name("asr");
  response->set_model_version("1");
  for (int i = 0; i < request->inputs_size(); ++i) {
    auto* output = response->add_outputs();
    output->set_name(request->inputs(i).name());
    output->set_datatype(request->inputs(i).datatype());
    *output->mutable_shape() = request->inputs(i).shape();
    response->add_raw_output_contents(request->raw_input_contents(i));
  }
  return grpc::Status::OK;
}

grpc::Status FakeHealthService::Check(grpc::ServerContext*,
                                      const grpc::health::v1::HealthCheckRequest* request,
                                      grpc::health::v1::HealthCheckResponse* response) {
  if (!request->service().empty()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown service: " + request->service());
  }
  response->set_status(grpc::health::v1::HealthCheckResponse::SERVING);
  return grpc::Status::OK;
}

}  // namespace speech
