// The floor of the benchmarks: a bare gRPC C++ callback implementation of
// inference.GRPCInferenceService whose ModelInfer echoes every input back as an output (same
// datatype, shape and bytes) with no model, batcher or metrics. ModelMetadata and ModelConfig
// give minimal answers for any model name so the performance analyzer drives it unchanged; every
// other method is UNIMPLEMENTED.
#ifndef SPEECH_TESTS_BENCH_ECHO_ECHO_SERVICE_H_
#define SPEECH_TESTS_BENCH_ECHO_ECHO_SERVICE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/grpc_service.grpc.pb.h"

namespace speech {

// Thread-safe: constant after construction; gRPC calls it from any thread.
class EchoService final : public inference::GRPCInferenceService::CallbackService {
 public:
  struct Input {
    std::string name = "INPUT0";
    std::string datatype = "FP32";
    std::vector<int64_t> dims = {-1};  // without the batch dimension
  };

  struct Options {
    // The inputs the metadata announces; outputs mirror them, named with "INPUT" replaced by
    // "OUTPUT" (INPUT0 -> OUTPUT0). The default is the identity model's.
    std::vector<Input> inputs = {Input()};
    // What the config reports; above 0 the metadata shapes get a leading -1 batch dimension.
    int max_batch_size = 64;
  };

  explicit EchoService(Options options) : options_(std::move(options)) {}

  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override;
  grpc::ServerUnaryReactor* ModelMetadata(grpc::CallbackServerContext* context,
                                          const inference::ModelMetadataRequest* request,
                                          inference::ModelMetadataResponse* response) override;
  grpc::ServerUnaryReactor* ModelConfig(grpc::CallbackServerContext* context,
                                        const inference::ModelConfigRequest* request,
                                        inference::ModelConfigResponse* response) override;

 private:
  const Options options_;
};

// The output name that mirrors input `name`.
std::string EchoOutputName(absl::string_view name);

// Parses "NAME:DATATYPE:D0,D1,..." (dims without the batch dimension).
absl::StatusOr<EchoService::Input> ParseEchoInput(absl::string_view text);

}  // namespace speech

#endif  // SPEECH_TESTS_BENCH_ECHO_ECHO_SERVICE_H_
