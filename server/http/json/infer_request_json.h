// The body of a KServe v2 REST inference request (POST .../infer) turned into the protocol's
// ModelInferRequest, so that the one codec in server/core validates it as it does gRPC requests:
// the JSON request, and Triton's binary tensor data extension (the first
// Inference-Header-Content-Length bytes of the body are the JSON; each input that names a
// parameters.binary_data_size takes that many of the bytes after it, in input order). Every
// input travels on as raw_input_contents. Errors name the input, what was expected and what was
// received.
#ifndef SPEECH_SERVER_HTTP_JSON_INFER_REQUEST_JSON_H_
#define SPEECH_SERVER_HTTP_JSON_INFER_REQUEST_JSON_H_

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// Which outputs of the reply travel as binary data after its JSON instead of as JSON "data".
struct OutputEncoding {
  // The outputs the request named, each with its parameters.binary_data (false when absent).
  std::vector<std::pair<std::string, bool>> named;
  // Outputs the request did not name: its "binary_data_output" parameter (false when absent).
  bool binary_by_default = false;

  bool IsBinary(absl::string_view output) const;
};

struct RestInferRequest {
  // Inputs, requested outputs, id and parameters; the model's name and version are the caller's
  // to set (they come from the URL).
  inference::ModelInferRequest message;
  OutputEncoding outputs;
};

// The length of the JSON at the front of a body of `body_bytes` from the value of its
// Inference-Header-Content-Length header. INVALID_ARGUMENT when it is not a byte count, exceeds
// the body, or is 0 (Triton's raw binary request without JSON, which this server does not take).
absl::StatusOr<size_t> ParseJsonHeaderLength(absl::string_view header, size_t body_bytes);

// Parses `body`, whose first `json_length` bytes are the JSON request (all of it when nullopt:
// no binary data). REQUIRES: json_length <= body.size(). INVALID_ARGUMENT for malformed JSON (with
// its position), missing or mistyped fields, JSON data that disagrees with the input's shape or
// datatype, binary data without a JSON length, and binary data shorter or longer than the inputs
// declare; UNIMPLEMENTED for shared memory and the classification extension.
absl::Status ParseRestInferRequest(absl::string_view body, std::optional<size_t> json_length,
                                   RestInferRequest* request);

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_JSON_INFER_REQUEST_JSON_H_
