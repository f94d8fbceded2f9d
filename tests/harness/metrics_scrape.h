// Test helpers for reading metrics: an HTTP GET on loopback and the value of one sample in a
// Prometheus text exposition. Test-only.
#ifndef SPEECH_TESTS_HARNESS_METRICS_SCRAPE_H_
#define SPEECH_TESTS_HARNESS_METRICS_SCRAPE_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace speech {

struct HttpReply {
  int status = 0;
  std::string body;
};

// GET http://127.0.0.1:<port><path>?<query parameters, URL-encoded>. UNAVAILABLE when nothing
// answers.
absl::StatusOr<HttpReply> HttpGet(int port, const std::string& path,
                                  const std::map<std::string, std::string>& params = {});

// The value of the sample whose name and labels are exactly `series` (as exposed, e.g.
// `nv_inference_count{model="identity",version="1"}`); NOT_FOUND when there is no such line.
absl::StatusOr<double> SampleValue(absl::string_view exposition, absl::string_view series);

// The single value of a Prometheus /api/v1/query reply holding one vector element (or a
// scalar); NOT_FOUND when the result is empty, INVALID_ARGUMENT when the reply is an error.
absl::StatusOr<double> QueryValue(absl::string_view reply);

}  // namespace speech

#endif  // SPEECH_TESTS_HARNESS_METRICS_SCRAPE_H_
