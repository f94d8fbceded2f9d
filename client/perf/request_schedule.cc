#include "client/perf/request_schedule.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace speech {

absl::StatusOr<RequestDistribution> ParseRequestDistribution(absl::string_view text) {
  if (text == "constant") return RequestDistribution::kConstant;
  if (text == "poisson") return RequestDistribution::kPoisson;
  return absl::InvalidArgumentError(
      absl::StrCat("request distribution must be constant or poisson; got \"", text, "\""));
}

absl::StatusOr<std::unique_ptr<RequestSchedule>> RequestSchedule::Create(Options options) {
  if (!(options.requests_per_second > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("request rate must be positive; was ", options.requests_per_second));
  }
  return std::unique_ptr<RequestSchedule>(new RequestSchedule(options));
}

RequestSchedule::RequestSchedule(Options options)
    : options_(options), random_(options.seed), exponential_(options.requests_per_second) {}

absl::Duration RequestSchedule::NextGap() {
  if (options_.distribution == RequestDistribution::kConstant) {
    return absl::Seconds(1.0 / options_.requests_per_second);
  }
  return absl::Seconds(exponential_(random_));
}

}  // namespace speech
