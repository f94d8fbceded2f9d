// Time as the batcher sees it: an interface, so that tests drive time by hand and never sleep.
#ifndef SPEECH_BATCHER_CLOCK_H_
#define SPEECH_BATCHER_CLOCK_H_

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace speech {

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// The wall clock. Thread-safe; a process-wide instance that is never destroyed.
class RealClock : public Clock {
 public:
  static Clock* Get();
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace speech

#endif  // SPEECH_BATCHER_CLOCK_H_
