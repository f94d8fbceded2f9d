#include "client/perf/request_schedule.h"

#include "gtest/gtest.h"

namespace speech {
namespace {

TEST(RequestScheduleTest, ConstantGapIsOneOverRate) {
  auto schedule = RequestSchedule::Create({200, RequestDistribution::kConstant, 0});
  ASSERT_TRUE(schedule.ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ((*schedule)->NextGap(), absl::Milliseconds(5));
}

TEST(RequestScheduleTest, PoissonGapsAverageOneOverRateAndRepeatWithSeed) {
  auto a = RequestSchedule::Create({1000, RequestDistribution::kPoisson, 42});
  auto b = RequestSchedule::Create({1000, RequestDistribution::kPoisson, 42});
  ASSERT_TRUE(a.ok() && b.ok());
  absl::Duration total;
  bool varies = false;
  absl::Duration previous;
  for (int i = 0; i < 20000; ++i) {
    const absl::Duration gap = (*a)->NextGap();
    EXPECT_EQ(gap, (*b)->NextGap());
    EXPECT_GE(gap, absl::ZeroDuration());
    varies = varies || (i > 0 && gap != previous);
    previous = gap;
    total += gap;
  }
  EXPECT_TRUE(varies);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(total / 20000), 1.0, 0.05);
}

TEST(RequestScheduleTest, RejectsBadRateAndDistribution) {
  EXPECT_FALSE(RequestSchedule::Create({0, RequestDistribution::kConstant, 0}).ok());
  EXPECT_FALSE(RequestSchedule::Create({-1, RequestDistribution::kPoisson, 0}).ok());
  EXPECT_EQ(*ParseRequestDistribution("poisson"), RequestDistribution::kPoisson);
  EXPECT_EQ(*ParseRequestDistribution("constant"), RequestDistribution::kConstant);
  EXPECT_FALSE(ParseRequestDistribution("uniform").ok());
}

}  // namespace
}  // namespace speech
