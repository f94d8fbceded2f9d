// The gaps between requests in the analyzer's request-rate mode: constant (1/rate) or Poisson
// arrivals (exponentially distributed gaps with mean 1/rate).
#ifndef SPEECH_CLIENT_PERF_REQUEST_SCHEDULE_H_
#define SPEECH_CLIENT_PERF_REQUEST_SCHEDULE_H_

#include <cstdint>
#include <memory>
#include <random>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace speech {

enum class RequestDistribution { kConstant, kPoisson };

// Parses "constant" or "poisson"; INVALID_ARGUMENT quoting anything else.
absl::StatusOr<RequestDistribution> ParseRequestDistribution(absl::string_view text);

// Not thread-safe: one scheduling thread owns it.
class RequestSchedule {
 public:
  struct Options {
    // Requests per second. Must be positive.
    double requests_per_second = 1;
    RequestDistribution distribution = RequestDistribution::kConstant;
    // Seeds the Poisson gaps; the same seed gives the same gaps.
    uint64_t seed = 0;
  };

  // INVALID_ARGUMENT when the rate is not positive.
  static absl::StatusOr<std::unique_ptr<RequestSchedule>> Create(Options options);

  // The gap before the next request.
  absl::Duration NextGap();

 private:
  explicit RequestSchedule(Options options);

  const Options options_;
  std::mt19937_64 random_;
  std::exponential_distribution<double> exponential_;
};

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_REQUEST_SCHEDULE_H_
