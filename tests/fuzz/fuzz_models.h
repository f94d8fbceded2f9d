// What the request fuzzers share: a few fixed model configurations and the request core's
// decoding against them, with the checks a decoded request must pass. A bad request is an
// expected error; only a broken contract (a crash, a sanitizer report, a decoded request that
// does not hold what it says) is a finding.
#ifndef SPEECH_TESTS_FUZZ_FUZZ_MODELS_H_
#define SPEECH_TESTS_FUZZ_FUZZ_MODELS_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "proto/grpc_service.pb.h"
#include "proto/model_config.pb.h"

namespace speech {

// The configurations, parsed and validated as the repository loads them on the first call (a
// configuration the repository would refuse aborts). Between them they cover batching and not,
// every datatype the codec takes, BYTES, variable dimensions, ragged padding and each kind of
// input constraint. Thread-compatible; the fuzzers run one input at a time.
const std::vector<inference::ModelConfig>& FuzzModelConfigs();

// Checks `message` as the request core does: the element limits (CheckElementLimits, with the
// default limits), then against every configuration DecodeInferRequest and, when decoding
// succeeded, CheckInputConstraints. Unlike the core it decodes whatever the limits said, so that
// the decoder meets huge shapes too. `external` is passed on as the bytes of inputs in shared
// memory (empty: none). Aborts when decoding succeeds but the request breaks the codec's
// contract: inputs out of the configuration's order, a shape the configuration does not allow, a
// batch the model cannot take, or data whose size disagrees with its shape. Every data byte is
// read, so that a tensor pointing past its bytes is an AddressSanitizer report.
void DecodeAgainstEveryModel(const inference::ModelInferRequest& message,
                             absl::Span<const std::optional<absl::string_view>> external = {});

// How the proto fuzzer stands in for system shared memory: an input with a
// "shared_memory_region" parameter reads its region's bytes from the message's last
// raw_input_contents entries, one per such input in input order (proto3 string parameters could
// not carry arbitrary bytes). Takes those entries off `message`.
struct FuzzRegions {
  // Each region in a heap block of its own size, so that a read past it is a sanitizer report.
  std::vector<std::unique_ptr<char[]>> blocks;
  // One entry per input of the message, as DecodeInferRequest takes it; empty when no input is
  // in shared memory.
  std::vector<std::optional<absl::string_view>> external;
};
// False when the message has fewer raw_input_contents entries than inputs in shared memory.
bool TakeFuzzRegions(inference::ModelInferRequest* message, FuzzRegions* regions);

}  // namespace speech

#endif  // SPEECH_TESTS_FUZZ_FUZZ_MODELS_H_
