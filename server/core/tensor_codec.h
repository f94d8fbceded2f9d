// Turns KServe v2 ModelInferRequest messages into validated InferenceRequests and outputs back
// into ModelInferResponse messages. Network input is never trusted: every check that fails says
// which tensor, what was expected and what was received.
#ifndef SPEECH_SERVER_CORE_TENSOR_CODEC_H_
#define SPEECH_SERVER_CORE_TENSOR_CODEC_H_

#include <vector>

#include "absl/status/status.h"
#include "batcher/request.h"
#include "proto/grpc_service.pb.h"
#include "proto/model_config.pb.h"

namespace speech {

// Fills `request` (inputs in the configuration's order, batch_rows, id, timeout_override) from
// `message`. Inputs borrow `message`'s bytes where they can (raw_input_contents, 32- and 64-bit
// typed contents), so `message` must outlive `request`. Errors are INVALID_ARGUMENT: an unknown,
// missing or repeated input; a wrong datatype; a shape that does not match the configuration or
// has negative or overflowing dimensions; a batch over max_batch_size or inputs that disagree on
// it; raw bytes whose length does not match the shape; both raw and typed contents; an unknown
// requested output; a malformed "timeout" parameter.
absl::Status DecodeInferRequest(const inference::ModelInferRequest& message,
                                const inference::ModelConfig& config, InferenceRequest* request);

// Moves `request`'s outputs into `response` (only those `message` asked for, all when it named
// none) as raw_output_contents, with the model's name, version and the request's id.
void EncodeInferResponse(const inference::ModelInferRequest& message, const std::string& version,
                         InferenceRequest* request, inference::ModelInferResponse* response);

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_TENSOR_CODEC_H_
