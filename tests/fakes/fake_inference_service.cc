#include "tests/fakes/fake_inference_service.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "proto/bytes_elements.h"

namespace speech {
namespace {

constexpr int64_t kQueueUs = 100;
constexpr int64_t kComputeInputUs = 200;
constexpr int64_t kComputeOutputUs = 400;
constexpr int64_t kAsrInferUs = 3000;
constexpr int64_t kFrontendInferUs = 1000;
constexpr int64_t kAcousticInferUs = 2000;
constexpr int64_t kVocoderInferUs = 5000;

grpc::Status UnknownModel(const std::string& name) {
  return grpc::Status(grpc::StatusCode::NOT_FOUND, "unknown model: " + name);
}

grpc::Status BadInput(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

void AddTensor(
    google::protobuf::RepeatedPtrField<inference::ModelMetadataResponse::TensorMetadata>* tensors,
    const std::string& name, const std::string& datatype, std::initializer_list<int64_t> shape) {
  auto* tensor = tensors->Add();
  tensor->set_name(name);
  tensor->set_datatype(datatype);
  for (int64_t dim : shape) tensor->add_shape(dim);
}

inference::ModelMetadataResponse PipelineMetadata(const std::string& name) {
  inference::ModelMetadataResponse metadata;
  metadata.set_name(name);
  metadata.add_versions("1");
  metadata.set_platform("ensemble");
  if (name == "tts") {
    AddTensor(metadata.mutable_inputs(), "TEXT", "BYTES", {1, 1});
    AddTensor(metadata.mutable_outputs(), "AUDIO", "FP32", {1, -1});
    AddTensor(metadata.mutable_outputs(), "MEL", "FP32", {1, 80, -1});
  } else {
    AddTensor(metadata.mutable_inputs(), "AUDIO", "FP32", {1, -1});
    AddTensor(metadata.mutable_outputs(), "TRANSCRIPT", "BYTES", {1, 1});
  }
  return metadata;
}

// Whether `request` asks for output `name` (asking for none asks for all).
bool Wants(const inference::ModelInferRequest& request, const std::string& name) {
  if (request.outputs_size() == 0) return true;
  for (const auto& output : request.outputs()) {
    if (output.name() == name) return true;
  }
  return false;
}

void AddOutput(inference::ModelInferResponse* response, const std::string& name,
               const std::string& datatype, std::initializer_list<int64_t> shape, std::string raw) {
  auto* output = response->add_outputs();
  output->set_name(name);
  output->set_datatype(datatype);
  for (int64_t dim : shape) output->add_shape(dim);
  response->add_raw_output_contents(std::move(raw));
}

std::string RawFloats(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

void AddDuration(inference::StatisticDuration* duration, int64_t us) {
  duration->set_count(duration->count() + 1);
  duration->set_ns(duration->ns() + static_cast<uint64_t>(us) * 1000);
}

}  // namespace

inference::ModelMetadataResponse FakeInferenceService::AsrMetadata() {
  inference::ModelMetadataResponse metadata;
  metadata.set_name("asr");
  metadata.add_versions("1");
  metadata.set_platform("fake");
  AddTensor(metadata.mutable_inputs(), "AUDIO", "FP32", {-1, 80, -1});
  AddTensor(metadata.mutable_inputs(), "LENGTHS", "INT64", {-1, 1});
  *metadata.add_outputs() = metadata.inputs(0);
  *metadata.add_outputs() = metadata.inputs(1);
  return metadata;
}

void FakeInferenceService::ServeSpeechPipelines(FakeSpeechPipelines pipelines) {
  absl::MutexLock lock(&mutex_);
  pipelines_served_ = true;
  pipelines_ = std::move(pipelines);
  asr_arrivals_ = 0;
  max_asr_in_flight_ = 0;
}

inference::ModelInferRequest FakeInferenceService::last_request() const {
  absl::MutexLock lock(&mutex_);
  return last_request_;
}

int FakeInferenceService::max_asr_in_flight() const {
  absl::MutexLock lock(&mutex_);
  return max_asr_in_flight_;
}

bool FakeInferenceService::serving_pipelines() const {
  absl::MutexLock lock(&mutex_);
  return pipelines_served_;
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
  const bool known = request->name() == "asr" || (request->name() == "tts" && serving_pipelines());
  response->set_ready(known && (request->version().empty() || request->version() == "1"));
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
  const bool pipelines = serving_pipelines();
  if (pipelines && (request->name() == "tts" || request->name() == "asr")) {
    *response = PipelineMetadata(request->name());
    return grpc::Status::OK;
  }
  if (request->name() != "asr") return UnknownModel(request->name());
  *response = AsrMetadata();
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::ModelConfig(grpc::ServerContext*,
                                               const inference::ModelConfigRequest* request,
                                               inference::ModelConfigResponse* response) {
  const bool pipelines = serving_pipelines();
  if (pipelines && (request->name() == "tts" || request->name() == "asr")) {
    inference::ModelConfig* config = response->mutable_config();
    config->set_name(request->name());
    config->set_platform("ensemble");
    if (request->name() == "tts") {
      for (const char* step : {"tts_frontend", "tts_acoustic", "tts_vocoder"}) {
        config->mutable_ensemble_scheduling()->add_step()->set_model_name(step);
      }
    }
    return grpc::Status::OK;
  }
  if (request->name() != "asr") return UnknownModel(request->name());
  response->mutable_config()->set_name("asr");
  response->mutable_config()->set_max_batch_size(8);
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::ModelInfer(grpc::ServerContext*,
                                              const inference::ModelInferRequest* request,
                                              inference::ModelInferResponse* response) {
  const bool pipelines = serving_pipelines();
  if (request->model_name() != "asr" && !(pipelines && request->model_name() == "tts")) {
    return UnknownModel(request->model_name());
  }
  if (request->raw_input_contents_size() != request->inputs_size()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "expected raw contents per input");
  }
  {
    absl::MutexLock lock(&mutex_);
    last_request_ = *request;
  }
  if (pipelines) {
    return request->model_name() == "tts" ? InferTts(*request, response)
                                          : InferAsr(*request, response);
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
  absl::MutexLock lock(&mutex_);
  Count("asr", kAsrInferUs);
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::InferTts(const inference::ModelInferRequest& request,
                                            inference::ModelInferResponse* response) {
  if (request.inputs_size() != 1 || request.inputs(0).name() != "TEXT" ||
      request.inputs(0).datatype() != "BYTES") {
    return BadInput("tts takes one input, TEXT BYTES [1, 1]");
  }
  absl::StatusOr<std::vector<absl::string_view>> text =
      SplitBytesElements(request.raw_input_contents(0), "input 'TEXT'");
  if (!text.ok()) return BadInput(std::string(text.status().message()));
  if (text->size() != 1) return BadInput("tts takes one sentence");
  absl::MutexLock lock(&mutex_);
  response->set_model_name("tts");
  response->set_model_version("1");
  if (Wants(request, "AUDIO")) {
    AddOutput(response, "AUDIO", "FP32", {1, static_cast<int64_t>(pipelines_.tts_audio.size())},
              RawFloats(pipelines_.tts_audio));
  }
  if (Wants(request, "MEL")) {
    const int64_t frames = pipelines_.tts_mel.size() / pipelines_.mel_channels;
    AddOutput(response, "MEL", "FP32", {1, pipelines_.mel_channels, frames},
              RawFloats(pipelines_.tts_mel));
  }
  Count("tts_frontend", kFrontendInferUs);
  Count("tts_acoustic", kAcousticInferUs);
  Count("tts_vocoder", kVocoderInferUs);
  Count("tts", kFrontendInferUs + kAcousticInferUs + kVocoderInferUs);
  return grpc::Status::OK;
}

grpc::Status FakeInferenceService::InferAsr(const inference::ModelInferRequest& request,
                                            inference::ModelInferResponse* response) {
  if (request.inputs_size() != 1 || request.inputs(0).name() != "AUDIO" ||
      request.inputs(0).datatype() != "FP32" || request.inputs(0).shape_size() != 2 ||
      request.inputs(0).shape(0) != 1 ||
      request.raw_input_contents(0).size() !=
          static_cast<size_t>(request.inputs(0).shape(1)) * sizeof(float)) {
    return BadInput("asr takes one input, AUDIO FP32 [1, samples]");
  }
  std::vector<float> audio(request.inputs(0).shape(1));
  std::memcpy(audio.data(), request.raw_input_contents(0).data(), audio.size() * sizeof(float));
  EnterAsr();
  std::function<std::string(absl::Span<const float>)> transcribe;
  {
    absl::MutexLock lock(&mutex_);
    transcribe = pipelines_.transcribe;
  }
  const std::string transcript = transcribe ? transcribe(audio) : "hello world";
  LeaveAsr();
  response->set_model_name("asr");
  response->set_model_version("1");
  AddOutput(response, "TRANSCRIPT", "BYTES", {1, 1},
            PackBytesElements(std::vector<std::string>{transcript}));
  absl::MutexLock lock(&mutex_);
  Count("asr", kAsrInferUs);
  return grpc::Status::OK;
}

void FakeInferenceService::EnterAsr() {
  absl::MutexLock lock(&mutex_);
  const int arrival = asr_arrivals_++;
  max_asr_in_flight_ = std::max(max_asr_in_flight_, ++asr_in_flight_);
  const int group = pipelines_.asr_rendezvous;
  if (group <= 0) return;
  // Arrivals only grow, so once the caller's group is complete it stays complete.
  const int complete_at = (arrival / group + 1) * group;
  auto complete = [this, complete_at]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) {
    return asr_arrivals_ >= complete_at;
  };
  mutex_.AwaitWithTimeout(absl::Condition(&complete), absl::Seconds(5));
}

void FakeInferenceService::LeaveAsr() {
  absl::MutexLock lock(&mutex_);
  --asr_in_flight_;
}

void FakeInferenceService::Count(const std::string& model, int64_t infer_us) {
  inference::ModelStatistics& stats = statistics_[model];
  stats.set_inference_count(stats.inference_count() + 1);
  stats.set_execution_count(stats.execution_count() + (model == "tts" ? 0 : 1));
  inference::InferStatistics* infer = stats.mutable_inference_stats();
  const int64_t steps = model == "tts" ? 3 : 1;  // the ensemble's phases are its steps
  AddDuration(infer->mutable_success(),
              steps * (kQueueUs + kComputeInputUs + kComputeOutputUs) + infer_us);
  AddDuration(infer->mutable_queue(), steps * kQueueUs);
  AddDuration(infer->mutable_compute_input(), steps * kComputeInputUs);
  AddDuration(infer->mutable_compute_infer(), infer_us);
  AddDuration(infer->mutable_compute_output(), steps * kComputeOutputUs);
}

grpc::Status FakeInferenceService::ModelStatistics(grpc::ServerContext*,
                                                   const inference::ModelStatisticsRequest* request,
                                                   inference::ModelStatisticsResponse* response) {
  absl::MutexLock lock(&mutex_);
  std::vector<std::string> models = {"asr"};
  if (pipelines_served_) models = {"asr", "tts", "tts_acoustic", "tts_frontend", "tts_vocoder"};
  if (!request->name().empty() &&
      std::find(models.begin(), models.end(), request->name()) == models.end()) {
    return UnknownModel(request->name());
  }
  if (!request->version().empty() && request->version() != "1") {
    return UnknownModel(absl::StrCat(request->name(), " version ", request->version()));
  }
  for (const std::string& model : models) {
    if (!request->name().empty() && request->name() != model) continue;
    inference::ModelStatistics stats = statistics_[model];
    stats.set_name(model);
    stats.set_version("1");
    *response->add_model_stats() = std::move(stats);
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
