// Counts what is in flight (requests the core accepted, calls whose reply gRPC has not finished
// sending), so that a shutdown can wait until none is left.
#ifndef SPEECH_SERVER_CORE_IN_FLIGHT_COUNTER_H_
#define SPEECH_SERVER_CORE_IN_FLIGHT_COUNTER_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace speech {

// Thread-safe.
class InFlightCounter {
 public:
  InFlightCounter() = default;
  // Reads the count once more, so that each Leave (and all its thread did before it) is ordered
  // before whatever frees this counter. A server's Shutdown returns only after its last call's
  // OnDone, but that ordering is inside gRPC, where ThreadSanitizer cannot see it.
  ~InFlightCounter() { (void)count_.load(std::memory_order_acquire); }

  void Enter() { count_.fetch_add(1); }
  void Leave() { count_.fetch_sub(1); }
  int64_t count() const { return count_.load(); }

  // True once nothing is counted; false when `timeout` passed first.
  bool WaitForNone(absl::Duration timeout) const {
    const absl::Time give_up = absl::Now() + timeout;
    while (count_.load() > 0) {
      if (absl::Now() >= give_up) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

 private:
  std::atomic<int64_t> count_{0};
};

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_IN_FLIGHT_COUNTER_H_
