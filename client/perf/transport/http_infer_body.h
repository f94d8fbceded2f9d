// The bodies of POST /v2/models/M/infer in Triton's binary tensor data extension, as the
// analyzer's HTTP transport sends and checks them: a JSON header, then the raw bytes of every
// input back to back; its length travels in the Inference-Header-Content-Length header, and the
// reply comes back the same way. Pure functions over plain values.
#ifndef SPEECH_CLIENT_PERF_TRANSPORT_HTTP_INFER_BODY_H_
#define SPEECH_CLIENT_PERF_TRANSPORT_HTTP_INFER_BODY_H_

#include <cstddef>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// The header both directions carry the JSON length in.
inline constexpr char kInferenceHeaderContentLength[] = "Inference-Header-Content-Length";

// A plain value type.
struct HttpInferBody {
  // The JSON header followed by the raw input bytes.
  std::string body;
  // The header's length in bytes: the value of Inference-Header-Content-Length.
  size_t json_length = 0;
};

// `request` as a binary-extension body:
//   {"id": ..., "parameters": {...},
//    "inputs": [{"name", "shape", "datatype", "parameters": {"binary_data_size": N}}, ...],
//    "outputs": [{"name", "parameters": {"binary_data": true}}, ...]}
// followed by raw_input_contents in input order. "id" and "parameters" appear only when the
// request has them. A request that names no outputs asks for all of them in binary with the
// request-level parameter "binary_data_output" (Triton's). INVALID_ARGUMENT when the inputs do
// not each have raw contents (typed `contents` are not sent), or a parameter has no value.
absl::StatusOr<HttpInferBody> EncodeHttpInferRequest(const inference::ModelInferRequest& request);

// Checks a successful (2xx) reply to `request`: `json_length` is its Inference-Header-Content-
// Length (nullopt when absent: the body is all JSON). OK when the JSON header parses, its
// "outputs" each have a "name" and either "data" or a "binary_data_size" in "parameters", the
// binary sizes add up to the bytes after the header, and every output the request named is there
// (at least one when it named none). DATA_LOSS otherwise, saying what is wrong.
absl::Status CheckHttpInferReply(const inference::ModelInferRequest& request,
                                 std::optional<absl::string_view> json_length,
                                 absl::string_view body);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_TRANSPORT_HTTP_INFER_BODY_H_
