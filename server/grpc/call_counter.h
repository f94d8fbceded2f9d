// Counts the calls whose reply gRPC has not finished sending yet, so that a shutdown can wait for
// them: a call is counted from its handler until its reactor's OnDone (gRPC calls it once the
// final status is sent, or the call is gone).
#ifndef SPEECH_SERVER_GRPC_CALL_COUNTER_H_
#define SPEECH_SERVER_GRPC_CALL_COUNTER_H_

#include <atomic>
#include <cstdint>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace speech {

// Thread-safe.
class CallCounter {
 public:
  void Enter() { calls_.fetch_add(1); }
  void Leave() { calls_.fetch_sub(1); }
  int64_t calls() const { return calls_.load(); }

  // True once no call is counted; false when `timeout` passed first.
  bool WaitForNone(absl::Duration timeout) const {
    const absl::Time give_up = absl::Now() + timeout;
    while (calls_.load() > 0) {
      if (absl::Now() >= give_up) return false;
      absl::SleepFor(absl::Milliseconds(1));
    }
    return true;
  }

 private:
  std::atomic<int64_t> calls_{0};
};

}  // namespace speech

#endif  // SPEECH_SERVER_GRPC_CALL_COUNTER_H_
