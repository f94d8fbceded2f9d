#include "batcher/clock.h"

namespace speech {

Clock* RealClock::Get() {
  static RealClock* const clock = new RealClock();
  return clock;
}

}  // namespace speech
