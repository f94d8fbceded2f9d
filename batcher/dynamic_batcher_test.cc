#include "batcher/dynamic_batcher.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "batcher/fake_clock.h"
#include "batcher/fake_executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Options = DynamicBatcher::Options;

struct Outcome {
  std::string id;
  absl::Status status;
  bool own_rows = false;  // its single output is a copy of its own input
  int64_t executed_batch_rows = 0;
  PhaseTimes times;
};

// Makes requests and records their completions. Thread-safe; must outlive the batcher.
class Recorder {
 public:
  // A request whose INT32 input of shape [rows, width] holds values that only it has.
  std::unique_ptr<InferenceRequest> Make(const std::string& id, int64_t rows = 1,
                                         int64_t width = 2) {
    auto bytes = std::make_shared<std::string>();
    const int32_t base = static_cast<int32_t>(std::hash<std::string>()(id) & 0xFFFFFF) * 64;
    for (int32_t i = 0; i < rows * width; ++i) {
      const int32_t value = base + i;
      bytes->append(reinterpret_cast<const char*>(&value), sizeof(value));
    }
    auto request = std::make_unique<InferenceRequest>();
    request->id = id;
    request->batch_rows = rows;
    InputTensor input;
    input.name = "INPUT0";
    input.type = inference::TYPE_INT32;
    input.shape = {rows, width};
    input.data = bytes->data();
    input.byte_size = bytes->size();
    request->inputs.push_back(std::move(input));
    // The bytes live in the completion, which outlives every use of the request's inputs.
    request->on_complete = [this, bytes](std::unique_ptr<InferenceRequest> done,
                                         absl::Status status) {
      Outcome outcome;
      outcome.id = done->id;
      outcome.status = std::move(status);
      outcome.own_rows = done->outputs.size() == 1 && done->outputs[0].data == *bytes;
      outcome.executed_batch_rows = done->executed_batch_rows;
      outcome.times = done->times;
      absl::MutexLock lock(&mu_);
      outcomes_.push_back(std::move(outcome));
    };
    return request;
  }

  void WaitFor(size_t count) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]()
                      ABSL_SHARED_LOCKS_REQUIRED(mu_) { return outcomes_.size() >= count; };
    mu_.Await(absl::Condition(&enough));
  }

  // In completion order.
  std::vector<Outcome> outcomes() const {
    absl::MutexLock lock(&mu_);
    return outcomes_;
  }

  // REQUIRES: `id` completed exactly once.
  Outcome Get(const std::string& id) const {
    Outcome found;
    int count = 0;
    for (const Outcome& outcome : outcomes()) {
      if (outcome.id == id) {
        found = outcome;
        ++count;
      }
    }
    EXPECT_EQ(count, 1) << id;
    return found;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Outcome> outcomes_ ABSL_GUARDED_BY(mu_);
};

Options Batching(int64_t max_batch_size, std::vector<int64_t> preferred = {},
                 absl::Duration max_queue_delay = absl::ZeroDuration()) {
  Options options;
  options.model_name = "tts";
  options.max_batch_size = max_batch_size;
  options.dynamic_batching = true;
  options.preferred_batch_sizes = std::move(preferred);
  options.max_queue_delay = max_queue_delay;
  return options;
}

struct Started {
  std::unique_ptr<DynamicBatcher> batcher;
  std::vector<FakeExecutor*> executors;  // owned by the batcher
};

Started Start(Options options, int executor_count, Clock* clock) {
  Started started;
  std::vector<std::unique_ptr<BatchExecutor>> executors;
  for (int i = 0; i < executor_count; ++i) {
    auto executor = std::make_unique<FakeExecutor>();
    started.executors.push_back(executor.get());
    executors.push_back(std::move(executor));
  }
  absl::StatusOr<std::unique_ptr<DynamicBatcher>> batcher =
      DynamicBatcher::Create(std::move(options), std::move(executors), clock);
  EXPECT_TRUE(batcher.ok()) << batcher.status();
  if (batcher.ok()) started.batcher = *std::move(batcher);
  return started;
}

std::vector<std::string> Ids(const FakeExecutor::Batch& batch) { return batch.request_ids; }

absl::Status CreateStatus(Options options, int executor_count = 1) {
  std::vector<std::unique_ptr<BatchExecutor>> executors;
  for (int i = 0; i < executor_count; ++i) executors.push_back(std::make_unique<FakeExecutor>());
  return DynamicBatcher::Create(std::move(options), std::move(executors)).status();
}

TEST(DynamicBatcherTest, CreateRejectsBadOptionsNamingTheFieldAndValue) {
  EXPECT_THAT(CreateStatus(Batching(-1)).message(),
              HasSubstr("max_batch_size must be >= 0; was -1"));
  EXPECT_THAT(CreateStatus(Batching(8, {0})).message(),
              HasSubstr("preferred_batch_sizes must be positive; one was 0"));
  EXPECT_THAT(CreateStatus(Batching(8, {9})).message(), HasSubstr("<= max_batch_size (8)"));
  EXPECT_THAT(CreateStatus(Batching(8, {}, absl::Seconds(-1))).message(),
              HasSubstr("max_queue_delay must be finite and >= 0; was -1s"));
  Options options = Batching(8);
  options.max_queue_size = -2;
  EXPECT_THAT(CreateStatus(options).message(), HasSubstr("max_queue_size must be >= 0; was -2"));
  options = Batching(8);
  options.default_timeout = absl::Milliseconds(-5);
  EXPECT_THAT(CreateStatus(options).message(),
              HasSubstr("default_timeout must be finite and >= 0; was -5ms"));
  EXPECT_THAT(CreateStatus(Batching(8), 0).message(),
              HasSubstr("model 'tts': at least one executor is required"));
  EXPECT_EQ(CreateStatus(Batching(8)).code(), absl::StatusCode::kOk);
}

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

TEST(DynamicBatcherTest, BatchesGrowWhileEveryExecutorIsBusy) {
  Recorder recorder;
  FakeClock clock;
  Started started = Start(Batching(8), 1, &clock);
  FakeExecutor& executor = *started.executors[0];
  executor.Hold();
  started.batcher->Enqueue(recorder.Make("first"));
  executor.WaitUntilStarted(1);  // a lone request goes at once: max_queue_delay is 0
  for (int i = 0; i < 9; ++i) started.batcher->Enqueue(recorder.Make(absl::StrCat("r", i)));
  EXPECT_EQ(started.batcher->QueueDepth(), 9);
  executor.ReleaseAll();
  recorder.WaitFor(10);
  std::vector<FakeExecutor::Batch> batches = executor.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_THAT(Ids(batches[0]), ElementsAre("first"));
  EXPECT_THAT(Ids(batches[1]), ElementsAre("r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"));
  EXPECT_THAT(Ids(batches[2]), ElementsAre("r8"));
  EXPECT_EQ(recorder.Get("r3").executed_batch_rows, 8);
  EXPECT_EQ(recorder.Get("r3").times.arrival, clock.Now());
  EXPECT_EQ(recorder.Get("r3").times.dispatch, clock.Now());
}

TEST(DynamicBatcherTest, InlineRunsALoneRequestOnTheCallingThreadWhenIdle) {
  Recorder recorder;
  Options options = Batching(8);
  options.run_inline_when_idle = true;
  Started started = Start(options, 1, RealClock::Get());
  // Completed before Enqueue returns: it ran on this thread.
  started.batcher->Enqueue(recorder.Make("alone"));
  ASSERT_EQ(recorder.outcomes().size(), 1u);
  EXPECT_TRUE(recorder.Get("alone").status.ok());
  EXPECT_TRUE(recorder.Get("alone").own_rows);
  EXPECT_EQ(started.batcher->QueueDepth(), 0);
  // A request that a preferred size would keep waiting does not run inline.
  Options waiting = Batching(8, {4}, absl::Seconds(60));
  waiting.run_inline_when_idle = true;
  FakeClock clock;
  Started held = Start(waiting, 1, &clock);
  held.batcher->Enqueue(recorder.Make("waits"));
  EXPECT_EQ(recorder.outcomes().size(), 1u);
  EXPECT_EQ(held.batcher->QueueDepth(), 1);
  held.batcher->Shutdown();  // drains it
  EXPECT_TRUE(recorder.Get("waits").status.ok());
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

TEST(DynamicBatcherTest, PreferredSizeGoesAtOnceAndAPartialBatchAfterTheDelay) {
  Recorder recorder;
  FakeClock clock;
  Started started = Start(Batching(8, {2}, absl::Milliseconds(10)), 1, &clock);
  FakeExecutor& executor = *started.executors[0];
  started.batcher->Enqueue(recorder.Make("a"));
  started.batcher->Enqueue(recorder.Make("b"));
  started.batcher->Enqueue(recorder.Make("c"));
  executor.WaitUntilStarted(1);
  recorder.WaitFor(2);
  EXPECT_EQ(started.batcher->QueueDepth(), 1);  // "c" waits for a companion or the delay
  clock.Advance(absl::Milliseconds(10));
  recorder.WaitFor(3);
  std::vector<FakeExecutor::Batch> batches = executor.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_THAT(Ids(batches[0]), ElementsAre("a", "b"));
  EXPECT_THAT(Ids(batches[1]), ElementsAre("c"));
  EXPECT_EQ(recorder.Get("c").times.dispatch - recorder.Get("c").times.arrival,
            absl::Milliseconds(10));
}

TEST(DynamicBatcherTest, PreservesArrivalOrderAcrossExecutorsAndOutcomes) {
  Recorder recorder;
  FakeClock clock;
  Options options = Batching(1);
  options.preserve_ordering = true;
  Started started = Start(options, 2, &clock);
  for (FakeExecutor* executor : started.executors) executor->Hold();
  started.batcher->Enqueue(recorder.Make("a"));
  started.batcher->Enqueue(recorder.Make("b"));
  started.executors[0]->WaitUntilStarted(1);
  started.executors[1]->WaitUntilStarted(1);
  const bool a_on_first = started.executors[0]->batches()[0].request_ids[0] == "a";
  FakeExecutor& runs_a = *started.executors[a_on_first ? 0 : 1];
  FakeExecutor& runs_b = *started.executors[a_on_first ? 1 : 0];

  // "b" finishes first; "c" is cancelled while queued; "d" follows "b" on the same executor.
  runs_b.Release(1);
  auto cancelled = recorder.Make("c");
  cancelled->is_cancelled = [] { return true; };
  started.batcher->Enqueue(std::move(cancelled));
  started.batcher->Enqueue(recorder.Make("d"));
  runs_b.WaitUntilStarted(2);  // so "b" is finished and "c" dropped: both wait for "a"
  EXPECT_TRUE(recorder.outcomes().empty());

  runs_a.ReleaseAll();
  runs_b.ReleaseAll();
  recorder.WaitFor(4);
  std::vector<Outcome> outcomes = recorder.outcomes();
  ASSERT_EQ(outcomes.size(), 4u);
  EXPECT_EQ(outcomes[0].id, "a");
  EXPECT_EQ(outcomes[1].id, "b");
  EXPECT_EQ(outcomes[2].id, "c");
  EXPECT_EQ(outcomes[2].status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(outcomes[3].id, "d");
  EXPECT_TRUE(outcomes[3].status.ok());
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

TEST(DynamicBatcherTest, FullQueueRejectsAtOnceWithUnavailable) {
  Recorder recorder;
  FakeClock clock;
  Options options = Batching(8, {}, absl::Hours(1));
  options.max_queue_size = 2;
  Started started = Start(options, 1, &clock);
  started.batcher->Enqueue(recorder.Make("a"));
  started.batcher->Enqueue(recorder.Make("b"));
  started.batcher->Enqueue(recorder.Make("c"));
  // Answered on this thread, before Enqueue returned.
  std::vector<Outcome> outcomes = recorder.outcomes();
  ASSERT_EQ(outcomes.size(), 1u);
  EXPECT_EQ(outcomes[0].id, "c");
  EXPECT_EQ(outcomes[0].status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(outcomes[0].status.message(), HasSubstr("'tts'"));
  EXPECT_THAT(outcomes[0].status.message(), HasSubstr("max_queue_size 2"));
  EXPECT_EQ(started.batcher->QueueDepth(), 2);
  started.batcher->Shutdown();
  EXPECT_TRUE(recorder.Get("a").status.ok());
  EXPECT_TRUE(recorder.Get("b").status.ok());
}

TEST(DynamicBatcherTest, ExecutorFailureFailsExactlyThatBatch) {
  Recorder recorder;
  FakeClock clock;
  Started started = Start(Batching(8), 1, &clock);
  FakeExecutor& executor = *started.executors[0];
  executor.FailBatch(1, absl::ResourceExhaustedError("out of GPU memory"));
  executor.Hold();
  started.batcher->Enqueue(recorder.Make("x"));
  executor.WaitUntilStarted(1);
  started.batcher->Enqueue(recorder.Make("a"));
  started.batcher->Enqueue(recorder.Make("b", 2));
  executor.Release(2);
  recorder.WaitFor(3);
  started.batcher->Enqueue(recorder.Make("c"));
  executor.ReleaseAll();
  recorder.WaitFor(4);
  EXPECT_THAT(Ids(executor.batches()[1]), ElementsAre("a", "b"));
  EXPECT_TRUE(recorder.Get("x").status.ok());
  for (const char* id : {"a", "b"}) {
    EXPECT_EQ(recorder.Get(id).status, absl::ResourceExhaustedError("out of GPU memory"));
    EXPECT_FALSE(recorder.Get(id).own_rows);
  }
  EXPECT_TRUE(recorder.Get("c").status.ok());
  EXPECT_TRUE(recorder.Get("c").own_rows);
}

TEST(DynamicBatcherTest, ExecutorExceptionBecomesInternal) {
  Recorder recorder;
  FakeClock clock;
  Started started = Start(Batching(8), 1, &clock);
  started.executors[0]->ThrowOnBatch(0, "bad tensor");
  started.batcher->Enqueue(recorder.Make("a"));
  recorder.WaitFor(1);
  started.batcher->Enqueue(recorder.Make("b"));
  recorder.WaitFor(2);
  EXPECT_EQ(recorder.Get("a").status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(recorder.Get("a").status.message(), HasSubstr("bad tensor"));
  EXPECT_THAT(recorder.Get("a").status.message(), HasSubstr("'tts'"));
  EXPECT_TRUE(recorder.Get("b").status.ok());
}

TEST(DynamicBatcherTest, CancelledAndExpiredRequestsAreDroppedUncomputed) {
  Recorder recorder;
  FakeClock clock;
  Started started = Start(Batching(8), 1, &clock);
  FakeExecutor& executor = *started.executors[0];
  executor.Hold();
  started.batcher->Enqueue(recorder.Make("x"));
  executor.WaitUntilStarted(1);
  auto cancelled = recorder.Make("cancelled");
  std::atomic<bool> cancel{false};
  cancelled->is_cancelled = [&cancel] { return cancel.load(); };
  auto expired = recorder.Make("expired");
  expired->deadline = clock.Now() + absl::Milliseconds(1);
  started.batcher->Enqueue(std::move(cancelled));
  started.batcher->Enqueue(std::move(expired));
  started.batcher->Enqueue(recorder.Make("kept"));
  cancel = true;
  clock.Advance(absl::Milliseconds(2));
  executor.ReleaseAll();
  recorder.WaitFor(4);
  std::vector<FakeExecutor::Batch> batches = executor.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_THAT(Ids(batches[1]), ElementsAre("kept"));
  EXPECT_EQ(recorder.Get("cancelled").status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(recorder.Get("expired").status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(recorder.Get("expired").status.message(), HasSubstr("after waiting 2ms"));
}

TEST(DynamicBatcherTest, QueueTimeoutRejectFailsWithDeadlineExceeded) {
  Recorder recorder;
  FakeClock clock;
  Options options = Batching(8);
  options.default_timeout = absl::Milliseconds(10);
  options.allow_timeout_override = true;
  Started started = Start(options, 1, &clock);
  FakeExecutor& executor = *started.executors[0];
  executor.Hold();
  started.batcher->Enqueue(recorder.Make("x"));
  executor.WaitUntilStarted(1);
  started.batcher->Enqueue(recorder.Make("default"));
  auto patient = recorder.Make("patient");
  patient->timeout_override = absl::Milliseconds(30);
  started.batcher->Enqueue(std::move(patient));
  clock.Advance(absl::Milliseconds(12));
  recorder.WaitFor(1);  // while the executor is still busy
  Outcome timed_out = recorder.Get("default");
  EXPECT_EQ(timed_out.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(timed_out.status.message(), HasSubstr("'tts'"));
  EXPECT_THAT(timed_out.status.message(), HasSubstr("after waiting 12ms"));
  executor.ReleaseAll();
  recorder.WaitFor(3);
  EXPECT_TRUE(recorder.Get("patient").status.ok());
}

TEST(DynamicBatcherTest, QueueTimeoutDelayRunsTheRequestAfterTheOthers) {
  Recorder recorder;
  FakeClock clock;
  Options options = Batching(8);
  options.default_timeout = absl::Milliseconds(5);
  options.timeout_action = DynamicBatcher::TimeoutAction::kDelay;
  Started started = Start(options, 1, &clock);
  FakeExecutor& executor = *started.executors[0];
  executor.Hold();
  started.batcher->Enqueue(recorder.Make("x"));
  executor.WaitUntilStarted(1);
  started.batcher->Enqueue(recorder.Make("late"));
  clock.Advance(absl::Milliseconds(6));
  started.batcher->Enqueue(recorder.Make("fresh"));
  executor.ReleaseAll();
  recorder.WaitFor(3);
  std::vector<FakeExecutor::Batch> batches = executor.batches();
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_THAT(Ids(batches[1]), ElementsAre("fresh"));
  EXPECT_THAT(Ids(batches[2]), ElementsAre("late"));
  EXPECT_TRUE(recorder.Get("late").status.ok());
}

TEST(DynamicBatcherTest, OversizedRequestIsRejectedAtOnce) {
  Recorder recorder;
  FakeClock clock;
  Started started = Start(Batching(4), 1, &clock);
  started.batcher->Enqueue(recorder.Make("big", 5));
  ASSERT_EQ(recorder.outcomes().size(), 1u);
  EXPECT_EQ(recorder.Get("big").status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(DynamicBatcherTest, ShutdownDrainsAcceptedRequestsThenRefusesNewOnes) {
  Recorder recorder;
  FakeClock clock;  // never advances: only the drain can send the partial batch
  Started started = Start(Batching(8, {}, absl::Hours(1)), 1, &clock);
  for (const char* id : {"a", "b", "c"}) started.batcher->Enqueue(recorder.Make(id));
  started.batcher->Shutdown();
  ASSERT_EQ(recorder.outcomes().size(), 3u);
  EXPECT_THAT(Ids(started.executors[0]->batches()[0]), ElementsAre("a", "b", "c"));
  for (const char* id : {"a", "b", "c"}) EXPECT_TRUE(recorder.Get(id).status.ok());

  started.batcher->Enqueue(recorder.Make("late"));
  EXPECT_EQ(recorder.Get("late").status, absl::UnavailableError("model 'tts' is shutting down"));
  started.batcher->Shutdown();  // idempotent
  EXPECT_EQ(started.batcher->QueueDepth(), 0);
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
