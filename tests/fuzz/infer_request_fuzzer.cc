// Fuzzes the gRPC request path: the input is a serialized inference.ModelInferRequest, decoded
// and validated against every fuzz model (fuzz_models.h) as the request core does, inputs in
// shared memory included (their bytes travel at the end of raw_input_contents: TakeFuzzRegions).
#include <cstddef>
#include <cstdint>

#include "google/protobuf/stubs/logging.h"
#include "proto/grpc_service.pb.h"
#include "tests/fuzz/fuzz_models.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Most inputs are not valid protobuf (invalid UTF-8 in a string field, say), which protobuf
  // logs for each one; those are expected here, and the log would drown the fuzzer's.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  inference::ModelInferRequest message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  speech::FuzzRegions regions;
  if (!speech::TakeFuzzRegions(&message, &regions)) return 0;
  speech::DecodeAgainstEveryModel(message, regions.external);
  return 0;
}
