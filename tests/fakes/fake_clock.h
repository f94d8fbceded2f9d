// A Clock that moves only when a test moves it, and wakes the threads that wait on it: TF's
// FakeClockEnv with BlockUntilThreadsAsleep is the model.
#ifndef SPEECH_TESTS_FAKES_FAKE_CLOCK_H_
#define SPEECH_TESTS_FAKES_FAKE_CLOCK_H_

#include <functional>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "batcher/clock.h"

namespace speech {

// Thread-safe. Starts at an arbitrary fixed time so that tests do not depend on the date. Must
// outlive its sleepers.
class FakeClock : public Clock {
 public:
  FakeClock() = default;
  explicit FakeClock(absl::Time start) : now_(start) {}

  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }

  // Moves time forward and wakes every sleeper whose wait ends by the new time.
  // REQUIRES: delta >= 0 (time never goes back).
  void Advance(absl::Duration delta) {
    absl::MutexLock lock(&mu_);
    now_ += delta;
    // Under the lock, so that no sleeper can be destroyed between being chosen and woken (its
    // destructor takes the lock); `wake` is cheap and does not call back into the clock.
    for (auto it = asleep_.begin(); it != asleep_.end();) {
      auto current = it++;
      if (current->second.until <= now_) {
        current->second.wake();
        asleep_.erase(current);
      }
    }
  }

  // Blocks until some thread waits on this clock until exactly `until` (it has looked at the
  // clock, found nothing to do before `until`, and is about to block). InfiniteFuture matches a
  // thread that waits for events only.
  void BlockUntilSleepingUntil(absl::Time until) const {
    absl::MutexLock lock(&mu_);
    auto sleeping = [this, until]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      for (const auto& [sleeper, wait] : asleep_) {
        if (wait.until == until) return true;
      }
      return false;
    };
    mu_.Await(absl::Condition(&sleeping));
  }

  // Blocks until at least `count` threads wait on this clock.
  void BlockUntilSleepers(int count) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return static_cast<int>(asleep_.size()) >= count;
    };
    mu_.Await(absl::Condition(&enough));
  }

  std::unique_ptr<Sleeper> NewSleeper(std::function<void()> wake) override;

 private:
  class FakeSleeper;
  struct Wait {
    absl::Time until;
    std::function<void()> wake;
  };

  mutable absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::FromUnixSeconds(1'700'000'000);
  absl::flat_hash_map<const Sleeper*, Wait> asleep_ ABSL_GUARDED_BY(mu_);
};

class FakeClock::FakeSleeper final : public Sleeper {
 public:
  FakeSleeper(FakeClock* clock, std::function<void()> wake)
      : clock_(clock), wake_(std::move(wake)) {}
  ~FakeSleeper() override { EndWait(); }

  absl::Duration BeginWait(absl::Time until) override {
    absl::MutexLock lock(&clock_->mu_);
    if (until <= clock_->now_) return absl::ZeroDuration();
    clock_->asleep_[this] = Wait{until, wake_};
    return absl::InfiniteDuration();
  }
  void EndWait() override {
    absl::MutexLock lock(&clock_->mu_);
    clock_->asleep_.erase(this);
  }

 private:
  FakeClock* const clock_;
  const std::function<void()> wake_;
};

inline std::unique_ptr<Sleeper> FakeClock::NewSleeper(std::function<void()> wake) {
  return std::make_unique<FakeSleeper>(this, std::move(wake));
}

}  // namespace speech

#endif  // SPEECH_TESTS_FAKES_FAKE_CLOCK_H_
