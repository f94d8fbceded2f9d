// A fake KServe v2 inference service and health service for client tests. It serves one model,
// "asr" (version "1"), whose ModelInfer echoes every input back as an output of the same name.
#ifndef SPEECH_TESTS_FAKES_FAKE_INFERENCE_SERVICE_H_
#define SPEECH_TESTS_FAKES_FAKE_INFERENCE_SERVICE_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/grpc_service.grpc.pb.h"
#include "proto/health.grpc.pb.h"

namespace speech {

// Thread-safe: gRPC may call any method from any thread.
class FakeInferenceService final : public inference::GRPCInferenceService::Service {
 public:
  // The metadata of "asr": input AUDIO FP32 [-1, 80, -1] and LENGTHS INT64 [-1, 1] (the leading
  // -1 is the batch dimension; the config's max_batch_size is 8).
  static inference::ModelMetadataResponse AsrMetadata();

  // The last ModelInfer request received; empty before the first.
  inference::ModelInferRequest last_request() const;

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

 private:
  mutable absl::Mutex mutex_;
  inference::ModelInferRequest last_request_ ABSL_GUARDED_BY(mutex_);
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
