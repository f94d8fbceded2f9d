#include "server/metrics/store/primitives.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::shared_ptr<const HistogramBuckets> Buckets(std::vector<int64_t> bounds, double divisor = 1) {
  auto buckets = HistogramBuckets::Create(std::move(bounds), divisor);
  EXPECT_TRUE(buckets.ok()) << buckets.status();
  return *buckets;
}

TEST(CounterTest, StartsAtZeroAndAdds) {
  Counter counter;
  EXPECT_EQ(counter.Value(), 0u);
  counter.Increment();
  counter.Increment(41);
  EXPECT_EQ(counter.Value(), 42u);
}

TEST(CounterTest, ConcurrentIncrementsSumExactly) {
  Counter counter;
  constexpr int kThreads = 16;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&counter, t] {
      for (int i = 0; i < kPerThread; ++i) counter.Increment(static_cast<uint64_t>(t + 1));
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counter.Value(), static_cast<uint64_t>(kPerThread) * kThreads * (kThreads + 1) / 2);
}

TEST(MetricShardTest, ThreadsStartedInTurnRecordOnDifferentShards) {
  // Two instance threads of one model, started one after the other, must not share a line.
  size_t first = kMetricShards;
  size_t second = kMetricShards;
  std::thread([&first] { first = metrics_internal::ThisThreadShard(); }).join();
  std::thread([&second] { second = metrics_internal::ThisThreadShard(); }).join();
  ASSERT_LT(first, kMetricShards);
  ASSERT_LT(second, kMetricShards);
  EXPECT_NE(first, second);
  // A thread keeps its shard.
  EXPECT_EQ(metrics_internal::ThisThreadShard(), metrics_internal::ThisThreadShard());
}

TEST(HistogramBucketsTest, RejectsBadLayouts) {
  auto empty = HistogramBuckets::Create({}, 1);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  auto unsorted = HistogramBuckets::Create({1, 3, 3}, 1);
  EXPECT_EQ(unsorted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unsorted.status().message(), HasSubstr("bound 2 is 3 after 3"));
  auto divisor = HistogramBuckets::Create({1}, 0);
  EXPECT_EQ(divisor.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(HistogramBucketsTest, ValueOnABoundBelongsToThatBucket) {
  auto buckets = Buckets({10, 20, 30});
  EXPECT_EQ(buckets->IndexOf(-5), 0u);
  EXPECT_EQ(buckets->IndexOf(0), 0u);
  EXPECT_EQ(buckets->IndexOf(10), 0u);  // le="10" includes 10
  EXPECT_EQ(buckets->IndexOf(11), 1u);
  EXPECT_EQ(buckets->IndexOf(20), 1u);
  EXPECT_EQ(buckets->IndexOf(21), 2u);
  EXPECT_EQ(buckets->IndexOf(30), 2u);
  EXPECT_EQ(buckets->IndexOf(31), 3u);  // +Inf
  EXPECT_EQ(buckets->IndexOf(INT64_MAX), 3u);
}

TEST(HistogramTest, SnapshotCountsPerBucketAndSums) {
  Histogram histogram(Buckets({10, 20}));
  for (int64_t value : {1, 10, 11, 20, 21, 1000}) histogram.Observe(value);
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_THAT(snapshot.bucket_counts, ElementsAre(2, 2, 2));
  EXPECT_EQ(snapshot.count, 6u);
  EXPECT_EQ(snapshot.sum, 1 + 10 + 11 + 20 + 21 + 1000);
}

TEST(HistogramTest, CountAndSumAddUpEveryShardAsTheSnapshotDoes) {
  // 22 bounds: each shard spans three cache lines, the sum in the last one.
  std::vector<int64_t> bounds;
  for (int64_t b = 1; b <= 22; ++b) bounds.push_back(b * 10);
  Histogram histogram(Buckets(bounds));
  std::vector<std::thread> threads;
  for (int t = 0; t < static_cast<int>(kMetricShards) + 3; ++t) {
    threads.emplace_back([&histogram, t] {
      histogram.Observe(-5);       // first bucket, and a negative sum part
      histogram.Observe(t * 100);  // spread over the buckets, +Inf included
    });
  }
  for (std::thread& thread : threads) thread.join();
  const HistogramSnapshot snapshot = histogram.Snapshot();
  const int64_t threads_run = static_cast<int64_t>(kMetricShards) + 3;
  EXPECT_EQ(snapshot.count, static_cast<uint64_t>(2 * threads_run));
  EXPECT_EQ(snapshot.sum, -5 * threads_run + 100 * threads_run * (threads_run - 1) / 2);
  EXPECT_EQ(histogram.Count(), snapshot.count);
  EXPECT_EQ(histogram.Sum(), snapshot.sum);
  EXPECT_EQ(snapshot.bucket_counts.size(), bounds.size() + 1);
  EXPECT_EQ(snapshot.bucket_counts[0], static_cast<uint64_t>(threads_run) + 1);  // -5s and 0
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
  Histogram histogram(Buckets({100, 200, 300}));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&histogram] {
      for (int i = 0; i < kPerThread; ++i) histogram.Observe(i % 400);  // 0..399
    });
  }
  for (std::thread& thread : threads) thread.join();
  const HistogramSnapshot snapshot = histogram.Snapshot();
  const uint64_t total = static_cast<uint64_t>(kThreads) * kPerThread;
  EXPECT_EQ(snapshot.count, total);
  // Per 400 values: 0..100 (101), 101..200 (100), 201..300 (100), 301..399 (99).
  const uint64_t rounds = total / 400;
  EXPECT_THAT(snapshot.bucket_counts,
              ElementsAre(101 * rounds, 100 * rounds, 100 * rounds, 99 * rounds));
  EXPECT_EQ(snapshot.sum, static_cast<int64_t>(rounds) * (399 * 400 / 2));
}

}  // namespace
}  // namespace speech
