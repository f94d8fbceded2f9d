// TimedRunner: a task that ends in time is done, one that does not goes on while the caller
// moves on, and the runner takes nothing new until it has ended.
#include "models/torch/execution/timed_runner.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using Outcome = TimedRunner::Outcome;

TEST(TimedRunnerTest, ATaskThatEndsInTimeIsDoneAndItsEffectsAreSeen) {
  TimedRunner runner;
  int value = 0;
  EXPECT_EQ(runner.Run([&] { value = 7; }, absl::Seconds(60)), Outcome::kDone);
  EXPECT_EQ(value, 7);
  EXPECT_EQ(runner.Run([&] { value = 8; }, absl::Seconds(60)), Outcome::kDone);
  EXPECT_EQ(value, 8);
}

TEST(TimedRunnerTest, ATaskPastItsTimeoutGoesOnAndTheRunnerIsBusyUntilItEnds) {
  TimedRunner runner;
  absl::Notification release;
  std::atomic<bool> slow_ended{false};
  EXPECT_EQ(runner.Run(
                [&] {
                  release.WaitForNotification();
                  slow_ended = true;
                },
                absl::Milliseconds(20)),
            Outcome::kTimedOut);
  EXPECT_FALSE(slow_ended);
  bool second_ran = false;
  EXPECT_EQ(runner.Run([&] { second_ran = true; }, absl::Milliseconds(20)), Outcome::kBusy);
  release.Notify();
  EXPECT_EQ(runner.Run([&] { second_ran = true; }, absl::Seconds(60)), Outcome::kDone);
  EXPECT_TRUE(slow_ended);
  EXPECT_TRUE(second_ran);
}

TEST(TimedRunnerTest, DestructionWaitsForARunningTask) {
  std::atomic<bool> ended{false};
  absl::Notification release;
  {
    TimedRunner runner;
    EXPECT_EQ(runner.Run(
                  [&] {
                    release.WaitForNotification();
                    ended = true;
                  },
                  absl::Milliseconds(1)),
              Outcome::kTimedOut);
    release.Notify();
  }
  EXPECT_TRUE(ended);
}

}  // namespace
}  // namespace speech
