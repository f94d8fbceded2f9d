// A fake KServe v2 inference service and health service for client tests. It serves one model,
// "asr" (version "1"), whose ModelInfer echoes every input back as an output of the same name;
// after ServeSpeechPipelines it serves the server's two speech pipelines instead, "tts" and "asr"
// (Triton ensembles in the real server), with fixed answers. ModelStatistics counts every
// inference with fixed phase times (see FakeInferenceService::ModelStatistics).
#ifndef SPEECH_TESTS_FAKES_FAKE_INFERENCE_SERVICE_H_
#define SPEECH_TESTS_FAKES_FAKE_INFERENCE_SERVICE_H_

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "proto/grpc_service.grpc.pb.h"
#include "proto/health.grpc.pb.h"

namespace speech {

// What the speech pipelines answer. A plain value type.
struct FakeSpeechPipelines {
  // tts: TEXT BYTES [1, 1] (any one sentence) -> AUDIO FP32 [1, tts_audio.size()] = `tts_audio`
  // and MEL FP32 [1, mel_channels, tts_mel.size() / mel_channels] = `tts_mel`.
  std::vector<float> tts_audio = std::vector<float>(2205, 0.25f);
  int mel_channels = 80;
  std::vector<float> tts_mel = std::vector<float>(80 * 10, -4.0f);

  // asr: AUDIO FP32 [1, N] -> TRANSCRIPT BYTES [1, 1] = transcribe(the N samples). Called on
  // gRPC's threads, several at once. Empty: "hello world".
  std::function<std::string(absl::Span<const float> audio)> transcribe;

  // When positive, asr calls meet in groups of this many: each waits until the rest of its group
  // has arrived (or 5 s pass), so that a test sees whether a client sends concurrently without
  // sleeping. 0: calls never wait.
  int asr_rendezvous = 0;
};

// Thread-safe: gRPC may call any method from any thread.
class FakeInferenceService final : public inference::GRPCInferenceService::Service {
 public:
  // The metadata of the echoing "asr": input AUDIO FP32 [-1, 80, -1] and LENGTHS INT64 [-1, 1]
  // (the leading -1 is the batch dimension; the config's max_batch_size is 8).
  static inference::ModelMetadataResponse AsrMetadata();

  // From now on "tts" and "asr" answer as `pipelines` says, and "tts" is an ensemble of three
  // steps, "tts_frontend", "tts_acoustic" and "tts_vocoder", which its configuration names and the
  // statistics list. Resets max_asr_in_flight.
  void ServeSpeechPipelines(FakeSpeechPipelines pipelines);

  // The last ModelInfer request received; empty before the first.
  inference::ModelInferRequest last_request() const;

  // The most asr pipeline calls that were in flight at once.
  int max_asr_in_flight() const;

  grpc::Status ServerLive(grpc::ServerContext* context, const inference::ServerLiveRequest* request,
                          inference::ServerLiveResponse* response) override;
  grpc::Status ModelReady(grpc::ServerContext* context, const inference::ModelReadyRequest* request,
                          inference::ModelReadyResponse* response) override;
  grpc::Status ServerMetadata(grpc::ServerContext* context,
                              const inference::ServerMetadataRequest* request,
                              inference::ServerMetadataResponse* response) override;
  grpc::Status ModelMetadata(grpc::ServerContext* context,
                             const inference::ModelMetadataRequest* request,
                             inference::ModelMetadataResponse* response) override;
  grpc::Status ModelConfig(grpc::ServerContext* context,
                           const inference::ModelConfigRequest* request,
                           inference::ModelConfigResponse* response) override;
  grpc::Status ModelInfer(grpc::ServerContext* context, const inference::ModelInferRequest* request,
                          inference::ModelInferResponse* response) override;

  // Every successful inference adds to each model it ran: queue 0.1 ms, compute input 0.2 ms,
  // compute output 0.4 ms and compute infer 3 ms (asr), 1 ms (tts_frontend), 2 ms (tts_acoustic)
  // or 5 ms (tts_vocoder); the ensemble "tts" adds the sum of its three steps' times. An empty
  // name lists every model served, with zero counts before their first inference.
  grpc::Status ModelStatistics(grpc::ServerContext* context,
                               const inference::ModelStatisticsRequest* request,
                               inference::ModelStatisticsResponse* response) override;

 private:
  bool serving_pipelines() const;
  grpc::Status InferTts(const inference::ModelInferRequest& request,
                        inference::ModelInferResponse* response);
  grpc::Status InferAsr(const inference::ModelInferRequest& request,
                        inference::ModelInferResponse* response);
  // Waits for the rest of the caller's rendezvous group, if any.
  void EnterAsr() ABSL_LOCKS_EXCLUDED(mutex_);
  void LeaveAsr() ABSL_LOCKS_EXCLUDED(mutex_);
  // Adds one inference of `model` taking `infer_us` in compute infer.
  void Count(const std::string& model, int64_t infer_us) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_);

  mutable absl::Mutex mutex_;
  inference::ModelInferRequest last_request_ ABSL_GUARDED_BY(mutex_);
  bool pipelines_served_ ABSL_GUARDED_BY(mutex_) = false;
  FakeSpeechPipelines pipelines_ ABSL_GUARDED_BY(mutex_);
  int asr_arrivals_ ABSL_GUARDED_BY(mutex_) = 0;
  int asr_in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  int max_asr_in_flight_ ABSL_GUARDED_BY(mutex_) = 0;
  std::map<std::string, inference::ModelStatistics> statistics_ ABSL_GUARDED_BY(mutex_);
};

// SERVING for the whole server (""), NOT_FOUND for any named service. Stateless, thread-safe.
class FakeHealthService final : public grpc::health::v1::Health::Service {
 public:
  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
};

}  // namespace speech

#endif  // SPEECH_TESTS_FAKES_FAKE_INFERENCE_SERVICE_H_
