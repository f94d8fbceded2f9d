// A ModelInferResponse as the KServe v2 REST protocol answers it: JSON, with each output's "data"
// or, for outputs the request asked for in binary (Triton's binary tensor data extension),
// parameters.binary_data_size and its raw bytes after the JSON, in output order.
#ifndef SPEECH_SERVER_HTTP_JSON_INFER_RESPONSE_JSON_H_
#define SPEECH_SERVER_HTTP_JSON_INFER_RESPONSE_JSON_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "proto/grpc_service.pb.h"
#include "server/http/json/infer_request_json.h"

namespace speech {

struct RestInferReply {
  std::string body;
  // When binary data follows the JSON: the JSON's length, sent as Inference-Header-Content-Length
  // with content type application/octet-stream. nullopt: the body is JSON alone
  // (application/json). As in Triton, outputs of zero bytes add no binary section.
  std::optional<size_t> json_length;
};

// Encodes `response` (its raw_output_contents are moved from): "id" when not empty,
// "model_name", "model_version", "parameters" when it has some, and "outputs" with name, datatype,
// shape and the data as `encoding` says. INTERNAL when the response is malformed (raw contents
// that do not match the outputs or their shapes); INVALID_ARGUMENT for a BYTES output asked for in
// JSON whose elements are not valid UTF-8.
absl::StatusOr<RestInferReply> EncodeRestInferReply(inference::ModelInferResponse* response,
                                                    const OutputEncoding& encoding);

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_JSON_INFER_RESPONSE_JSON_H_
