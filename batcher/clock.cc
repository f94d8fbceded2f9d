#include "batcher/clock.h"

#include <algorithm>

namespace speech {
namespace {

// Real time runs by itself: the waiting thread's own timeout ends the wait, `wake` is not needed.
class RealSleeper final : public Sleeper {
 public:
  explicit RealSleeper(const Clock* clock) : clock_(clock) {}
  absl::Duration BeginWait(absl::Time until) override {
    if (until == absl::InfiniteFuture()) return absl::InfiniteDuration();
    return std::max(absl::ZeroDuration(), until - clock_->Now());
  }
  void EndWait() override {}

 private:
  const Clock* const clock_;
};

}  // namespace

Clock* RealClock::Get() {
  static RealClock* const clock = new RealClock();
  return clock;
}

std::unique_ptr<Sleeper> RealClock::NewSleeper(std::function<void()>) {
  return std::make_unique<RealSleeper>(this);
}

}  // namespace speech
