// Time as the batcher and the models see it: an interface, so that tests drive time by hand and
// never sleep. A clock also shapes how a thread waits "for an event, or until T": see Sleeper.
#ifndef SPEECH_BATCHER_CLOCK_H_
#define SPEECH_BATCHER_CLOCK_H_

#include <functional>
#include <memory>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace speech {

// How one thread waits until something happens or a time on its clock is reached. The thread
// calls BeginWait(until) and blocks on its own event source for at most the real time returned,
// then calls EndWait(). A clock that moves by itself returns the real time left; a fake clock
// returns an infinite wait and calls the sleeper's `wake` when a test moves its time to `until`
// or past it, so that the thread wakes and reads the clock again. Used by one thread; `wake`
// runs on whichever thread moves the clock.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  // The longest the caller may block in real time: zero when `until` has passed, infinite for
  // absl::InfiniteFuture(). REQUIRES: no wait begun and not ended.
  virtual absl::Duration BeginWait(absl::Time until) = 0;
  virtual void EndWait() = 0;
};

// Thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
  // A sleeper for one waiting thread. `wake` must be thread-safe, cheap and must not call back
  // into the clock; it may run until the sleeper is destroyed, never after.
  virtual std::unique_ptr<Sleeper> NewSleeper(std::function<void()> wake) = 0;
};

// The wall clock. Thread-safe; a process-wide instance that is never destroyed.
class RealClock : public Clock {
 public:
  static Clock* Get();
  absl::Time Now() const override { return absl::Now(); }
  std::unique_ptr<Sleeper> NewSleeper(std::function<void()> wake) override;
};

}  // namespace speech

#endif  // SPEECH_BATCHER_CLOCK_H_
