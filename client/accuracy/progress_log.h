// Progress of a long run as whole lines on a stream (stderr by default), one each time another
// tenth (or 1/steps) of the work is done, and at the end; no carriage returns, so that it reads
// the same in a terminal and in a log file:
//   accuracy: 32/320 requests (10%), 0 failed, 1.4 s
#ifndef SPEECH_CLIENT_ACCURACY_PROGRESS_LOG_H_
#define SPEECH_CLIENT_ACCURACY_PROGRESS_LOG_H_

#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace speech {

// Whether finishing item `done` (1-based) of `total` completes another 1/`steps` of the work
// (and so deserves a line); always true for the last item. REQUIRES: 0 < done <= total, steps > 0.
bool CompletesStep(int64_t done, int64_t total, int steps);

// Thread-safe: workers call Record from any thread; lines are written whole, under the lock, in
// the order the items completed. Borrows the stream, which must outlive it.
class ProgressLog {
 public:
  struct Options {
    // Items in the whole run. Must be positive.
    int64_t total = 1;
    // Lines over the run (besides none at the start). Must be positive.
    int steps = 10;
    // What a line starts with, and what the items are called.
    std::string prefix = "accuracy";
    std::string unit = "requests";
    std::ostream* out = &std::cerr;
    // The clock the elapsed time is read from; real time by default.
    std::function<absl::Time()> now = [] { return absl::Now(); };
  };

  // INVALID_ARGUMENT for a non-positive total or steps, or a null stream or clock.
  static absl::StatusOr<std::unique_ptr<ProgressLog>> Create(Options options);

  // Counts one finished item (failed or not) and prints a line when it completes a step.
  // Items beyond `total` are counted but print nothing.
  void Record(bool failed);

 private:
  ProgressLog(Options options, absl::Time start);

  // Constant after construction.
  const Options options_;
  const absl::Time start_;

  absl::Mutex mutex_;
  int64_t done_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t failed_ ABSL_GUARDED_BY(mutex_) = 0;
};

}  // namespace speech

#endif  // SPEECH_CLIENT_ACCURACY_PROGRESS_LOG_H_
