#include "client/perf/report/perf_stats.h"

#include <vector>

#include "gtest/gtest.h"

namespace speech {
namespace {

std::vector<absl::Duration> Micros(std::initializer_list<int> values) {
  std::vector<absl::Duration> out;
  for (int v : values) out.push_back(absl::Microseconds(v));
  return out;
}

TEST(PercentileTest, NearestRankOnOneToHundred) {
  std::vector<absl::Duration> sorted;
  for (int i = 1; i <= 100; ++i) sorted.push_back(absl::Microseconds(i));
  EXPECT_EQ(Percentile(sorted, 50), absl::Microseconds(50));
  EXPECT_EQ(Percentile(sorted, 90), absl::Microseconds(90));
  EXPECT_EQ(Percentile(sorted, 99), absl::Microseconds(99));
  EXPECT_EQ(Percentile(sorted, 100), absl::Microseconds(100));
  EXPECT_EQ(Percentile(sorted, 0), absl::Microseconds(1));
}

TEST(PercentileTest, SmallAndEmpty) {
  EXPECT_EQ(Percentile({}, 50), absl::ZeroDuration());
  const auto one = Micros({7});
  EXPECT_EQ(Percentile(one, 1), absl::Microseconds(7));
  EXPECT_EQ(Percentile(one, 99), absl::Microseconds(7));
  const auto four = Micros({10, 20, 30, 40});
  EXPECT_EQ(Percentile(four, 50), absl::Microseconds(20));  // ceil(2.0) = rank 2
  EXPECT_EQ(Percentile(four, 51), absl::Microseconds(30));  // ceil(2.04) = rank 3
  EXPECT_EQ(Percentile(four, 99), absl::Microseconds(40));
  EXPECT_EQ(Percentile(four, 150), absl::Microseconds(40));  // clamped
}

TEST(SummarizeTest, ThroughputLatencyAndAverages) {
  ClientWindow window;
  window.duration = absl::Seconds(2);
  window.batch_size = 4;
  // 1000 requests of 1..1000 us, shuffled order does not matter.
  for (int i = 1000; i >= 1; --i) window.latencies.push_back(absl::Microseconds(i));
  window.total_send = absl::Microseconds(3000);
  window.total_recv = absl::Microseconds(5000);
  window.error_count = 10;
  const ClientSummary s = Summarize(window);
  EXPECT_EQ(s.success_count, 1000);
  EXPECT_EQ(s.error_count, 10);
  EXPECT_NEAR(s.error_fraction, 10.0 / 1010, 1e-12);
  EXPECT_DOUBLE_EQ(s.requests_per_second, 500);
  EXPECT_DOUBLE_EQ(s.inferences_per_second, 2000);  // errors never count
  EXPECT_EQ(s.p50, absl::Microseconds(500));
  EXPECT_EQ(s.p90, absl::Microseconds(900));
  EXPECT_EQ(s.p95, absl::Microseconds(950));
  EXPECT_EQ(s.p99, absl::Microseconds(990));
  EXPECT_EQ(s.average, absl::Nanoseconds(500500));
  EXPECT_EQ(s.average_send, absl::Microseconds(3));
  EXPECT_EQ(s.average_recv, absl::Microseconds(5));
}

TEST(SummarizeTest, OnlyErrorsGivesZeroThroughput) {
  ClientWindow window;
  window.duration = absl::Seconds(1);
  window.error_count = 5;
  window.first_error = "UNAVAILABLE: down";
  const ClientSummary s = Summarize(window);
  EXPECT_EQ(s.inferences_per_second, 0);
  EXPECT_EQ(s.error_fraction, 1);
  EXPECT_EQ(s.average, absl::ZeroDuration());
}

TEST(SummarizeTest, ZeroDurationHasNoThroughput) {
  ClientWindow window;
  window.latencies = Micros({1, 2});
  EXPECT_EQ(Summarize(window).inferences_per_second, 0);
}

TEST(ClientWindowTest, MergeConcatenatesAndAdds) {
  ClientWindow a, b;
  a.duration = absl::Seconds(1);
  a.latencies = Micros({1, 2});
  a.total_send = absl::Microseconds(2);
  b.duration = absl::Seconds(2);
  b.latencies = Micros({3});
  b.error_count = 1;
  b.first_error = "boom";
  a.Merge(b);
  EXPECT_EQ(a.duration, absl::Seconds(3));
  EXPECT_EQ(a.success_count(), 3);
  EXPECT_EQ(a.error_count, 1);
  EXPECT_EQ(a.first_error, "boom");
  EXPECT_EQ(a.total_send, absl::Microseconds(2));
}

ClientSummary Window(double throughput, int average_us, int p99_us = 0) {
  ClientSummary s;
  s.success_count = 100;
  s.inferences_per_second = throughput;
  s.average = absl::Microseconds(average_us);
  s.p99 = absl::Microseconds(p99_us == 0 ? 2 * average_us : p99_us);
  return s;
}

TEST(IsStableTest, NeedsThreeWindows) {
  StabilityCriterion criterion;
  EXPECT_FALSE(IsStable({}, criterion));
  EXPECT_FALSE(IsStable({Window(100, 10), Window(100, 10)}, criterion));
  EXPECT_TRUE(IsStable({Window(100, 10), Window(100, 10), Window(100, 10)}, criterion));
}

TEST(IsStableTest, ThroughputAndLatencyWithinPercentage) {
  StabilityCriterion criterion;  // 10%
  EXPECT_TRUE(IsStable({Window(100, 100), Window(109, 105), Window(105, 109)}, criterion));
  EXPECT_TRUE(IsStable({Window(100, 100), Window(110, 100), Window(100, 110)}, criterion));
  EXPECT_FALSE(IsStable({Window(100, 100), Window(111, 100), Window(105, 100)}, criterion));
  EXPECT_FALSE(IsStable({Window(100, 100), Window(100, 111), Window(100, 100)}, criterion));
}

TEST(IsStableTest, OnlyTheLastWindowsCount) {
  StabilityCriterion criterion;
  EXPECT_TRUE(IsStable({Window(10, 1000), Window(100, 100), Window(101, 101), Window(102, 100)},
                       criterion));
  EXPECT_FALSE(IsStable({Window(100, 100), Window(101, 101), Window(102, 100), Window(10, 1000)},
                        criterion));
}

TEST(IsStableTest, WindowWithoutSuccessIsNeverStable) {
  StabilityCriterion criterion;
  ClientSummary empty;
  EXPECT_FALSE(IsStable({Window(100, 100), Window(100, 100), empty}, criterion));
}

TEST(IsStableTest, PercentileCriterionComparesThatPercentile) {
  StabilityCriterion criterion;
  criterion.latency_percentile = 99;
  // Averages agree but p99 varies by 50%.
  const std::vector<ClientSummary> windows = {Window(100, 100, 200), Window(100, 100, 300),
                                              Window(100, 100, 200)};
  EXPECT_FALSE(IsStable(windows, criterion));
  criterion.latency_percentile.reset();
  EXPECT_TRUE(IsStable(windows, criterion));
  criterion.stability_percentage = 60;
  criterion.latency_percentile = 99;
  EXPECT_TRUE(IsStable(windows, criterion));
}

TEST(IsStableTest, WindowCountIsConfigurable) {
  StabilityCriterion criterion;
  criterion.window_count = 1;
  EXPECT_TRUE(IsStable({Window(1, 1)}, criterion));
}

}  // namespace
}  // namespace speech
