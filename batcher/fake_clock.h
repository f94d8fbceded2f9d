// A Clock that moves only when a test moves it.
#ifndef SPEECH_BATCHER_FAKE_CLOCK_H_
#define SPEECH_BATCHER_FAKE_CLOCK_H_

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "batcher/clock.h"

namespace speech {

// Thread-safe. Starts at an arbitrary fixed time so that tests do not depend on the date.
class FakeClock : public Clock {
 public:
  FakeClock() = default;
  explicit FakeClock(absl::Time start) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  // REQUIRES: delta >= 0 (time never goes back).
  void Advance(absl::Duration delta) {
    absl::MutexLock lock(&mu_);
    now_ += delta;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1'700'000'000);
};

}  // namespace speech

#endif  // SPEECH_BATCHER_FAKE_CLOCK_H_
