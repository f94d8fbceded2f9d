// The dynamic batcher under load from many threads on the real clock: every request answered
// exactly once with its own rows, batches within their limits, order kept when asked, and a
// shutdown in the middle of it all.
#include "batcher/dynamic_batcher.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/time/time.h"
#include "batcher/batcher_test_harness.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using batcher_testing::Batching;
using batcher_testing::Ids;
using batcher_testing::Options;
using batcher_testing::Outcome;
using batcher_testing::Recorder;
using batcher_testing::Start;
using batcher_testing::Started;

// Many handler threads at once: every request is answered exactly once, successfully, with its
// own rows; every batch fits max_batch_size and holds one input shape.
TEST(DynamicBatcherTest, ManyClientsEachGetTheirOwnRowsExactlyOnce) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 200;
  Recorder recorder;
  Started started = Start(Batching(8, {4, 8}, absl::Microseconds(200)), 3, RealClock::Get());
  std::vector<std::thread> clients;
  std::map<std::string, int64_t> width_of;  // written before the threads start
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) width_of[absl::StrCat(t, "/", i)] = 2 + (t + i) % 2;
  }
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      std::mt19937 random(t);
      for (int i = 0; i < kPerThread; ++i) {
        const std::string id = absl::StrCat(t, "/", i);
        started.batcher->Enqueue(
            recorder.Make(id, std::uniform_int_distribution<int>(1, 3)(random), width_of.at(id)));
        // A short, random gap between requests (busy work, not a sleep).
        const int gap = std::uniform_int_distribution<int>(0, 20)(random);
        for (int k = 0; k < gap; ++k) std::this_thread::yield();
      }
    });
  }
  for (std::thread& client : clients) client.join();
  recorder.WaitFor(kThreads * kPerThread);
  EXPECT_EQ(started.batcher->QueueDepth(), 0);

  std::vector<Outcome> outcomes = recorder.outcomes();
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kThreads * kPerThread));
  std::map<std::string, int> answers;
  for (const Outcome& outcome : outcomes) {
    ++answers[outcome.id];
    EXPECT_TRUE(outcome.status.ok()) << outcome.id << ": " << outcome.status;
    EXPECT_TRUE(outcome.own_rows) << outcome.id;
    EXPECT_GE(outcome.times.dispatch, outcome.times.arrival);
    EXPECT_LE(outcome.executed_batch_rows, 8);
  }
  EXPECT_EQ(answers.size(), width_of.size());
  for (const auto& [id, count] : answers) EXPECT_EQ(count, 1) << id;

  int64_t batched_requests = 0;
  for (FakeExecutor* executor : started.executors) {
    for (const FakeExecutor::Batch& batch : executor->batches()) {
      batched_requests += batch.request_ids.size();
      EXPECT_GE(batch.total_rows, 1);
      EXPECT_LE(batch.total_rows, 8);
      for (const std::string& id : batch.request_ids) {
        EXPECT_EQ(width_of.at(id), width_of.at(batch.request_ids[0])) << "mixed shapes";
      }
    }
  }
  EXPECT_EQ(batched_requests, kThreads * kPerThread);
}

TEST(DynamicBatcherTest, WithoutDynamicBatchingEveryBatchHoldsOneRequest) {
  Recorder recorder;
  Options options = Batching(8, {2}, absl::Milliseconds(5));
  options.dynamic_batching = false;
  Started started = Start(options, 2, RealClock::Get());
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) started.batcher->Enqueue(recorder.Make(absl::StrCat(t, "/", i)));
    });
  }
  for (std::thread& client : clients) client.join();
  recorder.WaitFor(200);
  int batches = 0;
  for (FakeExecutor* executor : started.executors) {
    for (const FakeExecutor::Batch& batch : executor->batches()) {
      EXPECT_EQ(batch.request_ids.size(), 1u);
      ++batches;
    }
  }
  EXPECT_EQ(batches, 200);
}

TEST(DynamicBatcherTest, InlineAndQueuedRequestsUnderLoadAreAnsweredOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 300;
  Recorder recorder;
  Options options = Batching(8);
  options.run_inline_when_idle = true;
  Started started = Start(options, 2, RealClock::Get());
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        started.batcher->Enqueue(recorder.Make(absl::StrCat(t, "/", i), 1 + (i % 2)));
      }
    });
  }
  for (std::thread& client : clients) client.join();
  recorder.WaitFor(kThreads * kPerThread);
  started.batcher->Shutdown();
  std::map<std::string, int> answers;
  for (const Outcome& outcome : recorder.outcomes()) {
    ++answers[outcome.id];
    EXPECT_TRUE(outcome.status.ok()) << outcome.id << ": " << outcome.status;
    EXPECT_TRUE(outcome.own_rows) << outcome.id;
    EXPECT_LE(outcome.executed_batch_rows, 8);
  }
  EXPECT_EQ(answers.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& [id, count] : answers) EXPECT_EQ(count, 1) << id;
  int64_t ran = 0;
  for (FakeExecutor* executor : started.executors) {
    for (const FakeExecutor::Batch& batch : executor->batches()) {
      ran += batch.request_ids.size();
      EXPECT_LE(batch.total_rows, 8);
    }
  }
  EXPECT_EQ(ran, kThreads * kPerThread);
}

TEST(DynamicBatcherTest, PreservesOrderUnderLoad) {
  Recorder recorder;
  Options options = Batching(4, {}, absl::Microseconds(50));
  options.preserve_ordering = true;
  Started started = Start(options, 3, RealClock::Get());
  started.executors[1]->FailBatch(3, absl::InternalError("boom"));
  for (int i = 0; i < 500; ++i) started.batcher->Enqueue(recorder.Make(absl::StrCat(i), 1 + i % 2));
  recorder.WaitFor(500);
  std::vector<Outcome> outcomes = recorder.outcomes();
  for (int i = 0; i < 500; ++i) ASSERT_EQ(outcomes[i].id, absl::StrCat(i));
}

TEST(DynamicBatcherTest, ShutdownUnderLoadAnswersEveryRequestOnce) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  Recorder recorder;
  Started started = Start(Batching(4, {}, absl::Microseconds(100)), 2, RealClock::Get());
  absl::BlockingCounter halfway(kThreads);
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (i == kPerThread / 2) halfway.DecrementCount();
        started.batcher->Enqueue(recorder.Make(absl::StrCat(t, "/", i)));
      }
    });
  }
  halfway.Wait();
  started.batcher->Shutdown();
  for (std::thread& client : clients) client.join();
  std::vector<Outcome> outcomes = recorder.outcomes();
  ASSERT_EQ(outcomes.size(), static_cast<size_t>(kThreads * kPerThread));
  std::map<std::string, int> answers;
  for (const Outcome& outcome : outcomes) {
    ++answers[outcome.id];
    if (!outcome.status.ok()) {
      EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable) << outcome.status;
    }
  }
  EXPECT_EQ(answers.size(), outcomes.size());
}

}  // namespace
}  // namespace speech
