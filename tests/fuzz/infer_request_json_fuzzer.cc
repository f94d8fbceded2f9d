// Fuzzes the REST request path: the body of POST .../infer (JSON, and Triton's binary tensor
// data after it), turned into a ModelInferRequest and then decoded and validated against every
// fuzz model (fuzz_models.h), as the HTTP service does. The input is the value of the
// Inference-Header-Content-Length header, a newline, then the body; an empty first line means
// no such header (a JSON-only body). An input without a newline is all body.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/http/json/infer_request_json.h"
#include "tests/fuzz/fuzz_models.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::string_view header;
  absl::string_view body = input;
  if (const size_t newline = input.find('\n'); newline != absl::string_view::npos) {
    header = input.substr(0, newline);
    body = input.substr(newline + 1);
  }
  std::optional<size_t> json_length;
  if (!header.empty()) {
    absl::StatusOr<size_t> length = speech::ParseJsonHeaderLength(header, body.size());
    if (!length.ok()) return 0;
    json_length = *length;
  }
  speech::RestInferRequest request;
  if (!speech::ParseRestInferRequest(body, json_length, &request).ok()) return 0;
  speech::DecodeAgainstEveryModel(request.message);
  return 0;
}
