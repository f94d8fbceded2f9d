// Turns KServe v2 ModelInferRequest messages into validated InferenceRequests and outputs back
// into ModelInferResponse messages. Network input is never trusted: every check that fails says
// which tensor, what was expected and what was received.
#ifndef SPEECH_SERVER_CORE_DECODE_TENSOR_CODEC_H_
#define SPEECH_SERVER_CORE_DECODE_TENSOR_CODEC_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "batcher/request.h"
#include "proto/grpc_service.pb.h"
#include "proto/model_config.pb.h"
#include "server/shared_memory/shared_memory_registry.h"

namespace speech {

// Fills `request` (inputs in the configuration's order, batch_rows, id, timeout_override) from
// `message`. Inputs borrow `message`'s bytes where they can (raw_input_contents, 32- and 64-bit
// typed contents), so `message` must outlive `request`. Errors are INVALID_ARGUMENT: an unknown,
// missing or repeated input; a wrong datatype; a shape that does not match the configuration or
// has negative or overflowing dimensions; a batch over max_batch_size or inputs that disagree on
// it; raw bytes whose length does not match the shape; both raw and typed contents; an unknown
// requested output; a malformed "timeout" parameter. `external`, when not empty, has one entry per
// message input: the bytes of an input that lives outside the message (system shared memory),
// which must then carry neither raw nor typed contents; raw_input_contents holds the other
// inputs, in order. External bytes must outlive `request` too.
absl::Status DecodeInferRequest(const inference::ModelInferRequest& message,
                                const inference::ModelConfig& config, InferenceRequest* request,
                                absl::Span<const std::optional<absl::string_view>> external = {});

// Moves `request`'s outputs into `response` (only those `message` asked for, all when it named
// none) as raw_output_contents, with the model's name, version and the request's id. An output
// in `shared_memory` is copied into its region instead: its raw_output_contents entry stays
// empty (so that entries still line up with outputs) and its parameters say the region and the
// bytes written. INVALID_ARGUMENT, naming the output and both sizes, when it does not fit.
absl::Status EncodeInferResponse(
    const inference::ModelInferRequest& message, const std::string& version,
    InferenceRequest* request, inference::ModelInferResponse* response,
    const std::map<std::string, SharedMemoryRegistry::Lease>& shared_memory = {});

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_DECODE_TENSOR_CODEC_H_
