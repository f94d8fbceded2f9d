// InFlightCounter: counts in and out, and a wait that ends when the last one leaves or times out.
#include "server/core/in_flight_counter.h"

#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

TEST(InFlightCounterTest, WaitEndsWhenTheLastOneLeaves) {
  InFlightCounter counter;
  EXPECT_TRUE(counter.WaitForNone(absl::ZeroDuration()));
  counter.Enter();
  counter.Enter();
  EXPECT_EQ(counter.count(), 2);
  EXPECT_FALSE(counter.WaitForNone(absl::Milliseconds(20)));
  std::thread leaving([&] {
    absl::SleepFor(absl::Milliseconds(20));
    counter.Leave();
    counter.Leave();
  });
  EXPECT_TRUE(counter.WaitForNone(absl::Seconds(30)));
  EXPECT_EQ(counter.count(), 0);
  leaving.join();
}

}  // namespace
}  // namespace speech
