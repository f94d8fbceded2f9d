#include "client/accuracy/progress_log.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace speech {

bool CompletesStep(int64_t done, int64_t total, int steps) {
  if (done >= total) return true;
  // Step k is complete once done >= ceil(k * total / steps); compare in whole steps.
  return (done * steps) / total > ((done - 1) * steps) / total;
}

absl::StatusOr<std::unique_ptr<ProgressLog>> ProgressLog::Create(Options options) {
  if (options.total <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("total must be positive; was %d", options.total));
  }
  if (options.steps <= 0) {
    return absl::InvalidArgumentError(
        absl::StrFormat("steps must be positive; was %d", options.steps));
  }
  if (options.out == nullptr || !options.now) {
    return absl::InvalidArgumentError("a progress log needs a stream and a clock");
  }
  const absl::Time start = options.now();
  return std::unique_ptr<ProgressLog>(new ProgressLog(std::move(options), start));
}

ProgressLog::ProgressLog(Options options, absl::Time start)
    : options_(std::move(options)), start_(start) {}

void ProgressLog::Record(bool failed) {
  absl::MutexLock lock(&mutex_);
  ++done_;
  failed_ += failed ? 1 : 0;
  if (done_ > options_.total || !CompletesStep(done_, options_.total, options_.steps)) return;
  const double seconds = absl::ToDoubleSeconds(options_.now() - start_);
  *options_.out << absl::StrFormat("%s: %d/%d %s (%d%%), %d failed, %.1f s\n", options_.prefix,
                                   done_, options_.total, options_.unit,
                                   done_ * 100 / options_.total, failed_, seconds)
                << std::flush;
}

}  // namespace speech
