// The dynamic batcher's rules, one at a time, on a fake clock that only the test moves: batch
// formation, delays, ordering, queue policy, failures, inline execution and shutdown.
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
#include "tests/fakes/fake_clock.h"

namespace speech {
namespace {

using batcher_testing::Batching;
using batcher_testing::Ids;
using batcher_testing::Options;
using batcher_testing::Outcome;
using batcher_testing::Recorder;
using batcher_testing::Start;
using batcher_testing::Started;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

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
  EXPECT_EQ(started.executors[0]->batches()[0].thread, std::this_thread::get_id());
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

// Inline completions would overtake queued ones, so preserve_ordering turns the inline path off.
TEST(DynamicBatcherTest, InlineIsNeverUsedWithPreserveOrdering) {
  Recorder recorder;
  FakeClock clock;
  Options options = Batching(8);
  options.run_inline_when_idle = true;
  options.preserve_ordering = true;
  Started started = Start(options, 1, &clock);
  started.batcher->Enqueue(recorder.Make("a"));
  recorder.WaitFor(1);
  EXPECT_TRUE(recorder.Get("a").status.ok());
  ASSERT_EQ(started.executors[0]->batches().size(), 1u);
  EXPECT_NE(started.executors[0]->batches()[0].thread, std::this_thread::get_id());
}

// A request that must be dropped (cancelled, or past its deadline) is dropped on the inline path
// too, uncomputed, with its reason.
TEST(DynamicBatcherTest, InlinePathDropsCancelledAndExpiredRequests) {
  Recorder recorder;
  FakeClock clock;
  Options options = Batching(8);
  options.run_inline_when_idle = true;
  Started started = Start(options, 1, &clock);
  auto cancelled = recorder.Make("cancelled");
  cancelled->is_cancelled = [] { return true; };
  started.batcher->Enqueue(std::move(cancelled));
  auto expired = recorder.Make("expired");
  expired->deadline = clock.Now();
  started.batcher->Enqueue(std::move(expired));
  recorder.WaitFor(2);
  EXPECT_EQ(recorder.Get("cancelled").status.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(recorder.Get("expired").status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_TRUE(started.executors[0]->batches().empty());
}

// The queue delay is an hour of fake time: only advancing the fake clock can end it, so the test
// passes only if advancing wakes the scheduler's timed wait (real time never would in time).
TEST(DynamicBatcherTest, PreferredSizeGoesAtOnceAndAPartialBatchAfterTheDelay) {
  Recorder recorder;
  FakeClock clock;
  const absl::Time start = clock.Now();
  Started started = Start(Batching(8, {2}, absl::Hours(1)), 1, &clock);
  FakeExecutor& executor = *started.executors[0];
  started.batcher->Enqueue(recorder.Make("a"));
  started.batcher->Enqueue(recorder.Make("b"));
  started.batcher->Enqueue(recorder.Make("c"));
  recorder.WaitFor(2);
  // "c" waits for a companion or the delay: the scheduler sleeps until its delay ends.
  clock.BlockUntilSleepingUntil(start + absl::Hours(1));
  EXPECT_EQ(started.batcher->QueueDepth(), 1);
  clock.Advance(absl::Hours(1));
  recorder.WaitFor(3);
  std::vector<FakeExecutor::Batch> batches = executor.batches();
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_THAT(Ids(batches[0]), ElementsAre("a", "b"));
  EXPECT_THAT(Ids(batches[1]), ElementsAre("c"));
  EXPECT_EQ(recorder.Get("c").times.dispatch - recorder.Get("c").times.arrival, absl::Hours(1));
}

TEST(DynamicBatcherTest, AdvancingTheFakeClockWakesTheSchedulerOnlyWhenTheDelayEnds) {
  Recorder recorder;
  FakeClock clock;
  const absl::Time start = clock.Now();
  Started started = Start(Batching(8, {}, absl::Minutes(10)), 1, &clock);
  started.batcher->Enqueue(recorder.Make("a"));
  clock.BlockUntilSleepingUntil(start + absl::Minutes(10));
  clock.Advance(absl::Minutes(9));
  // Still asleep until the same time: nothing was dispatched early.
  clock.BlockUntilSleepingUntil(start + absl::Minutes(10));
  EXPECT_EQ(started.batcher->QueueDepth(), 1);
  EXPECT_TRUE(recorder.outcomes().empty());
  // A second request joins the batch of the first; the delay still counts from the first.
  started.batcher->Enqueue(recorder.Make("b"));
  clock.Advance(absl::Minutes(1));
  recorder.WaitFor(2);
  EXPECT_THAT(Ids(started.executors[0]->batches()[0]), ElementsAre("a", "b"));
  EXPECT_EQ(recorder.Get("a").times.dispatch, start + absl::Minutes(10));
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

// Stamps every batch as having taken 20 ms of compute, as a model instance times it.
class TwentyMillisecondExecutor : public BatchExecutor {
 public:
  absl::Status Execute(absl::Span<InferenceRequest* const> batch) override {
    for (InferenceRequest* request : batch) {
      request->times.compute_input_start = absl::FromUnixSeconds(100);
      request->times.compute_output_end = absl::FromUnixSeconds(100) + absl::Milliseconds(20);
    }
    return absl::OkStatus();
  }
};

TEST(DynamicBatcherTest, ShutdownReportsWhatTheCostModelLearnedOnce) {
  Recorder recorder;
  Options options = Batching(4);
  // Measured at warm-up: 10 ms for one row, 20 ms for four; every execution here takes 20 ms.
  options.cost_samples = {{1, 2, absl::Milliseconds(10)}, {4, 2, absl::Milliseconds(20)}};
  int calls = 0;
  std::vector<CostSample> refined;
  int64_t observations = -1;
  options.on_refined_costs = [&](const std::vector<CostSample>& costs, int64_t observed) {
    ++calls;
    refined = costs;
    observations = observed;
  };
  std::vector<std::unique_ptr<BatchExecutor>> executors;
  executors.push_back(std::make_unique<TwentyMillisecondExecutor>());
  auto batcher = DynamicBatcher::Create(std::move(options), std::move(executors));
  ASSERT_TRUE(batcher.ok()) << batcher.status();
  for (int i = 0; i < 3; ++i) {  // one at a time: three batches of one row
    (*batcher)->Enqueue(recorder.Make(absl::StrCat("r", i)));
    recorder.WaitFor(i + 1);
  }
  EXPECT_EQ(calls, 0);
  (*batcher)->Shutdown();
  (*batcher)->Shutdown();
  batcher->reset();
  EXPECT_EQ(calls, 1);
  // The last execution's report may come after the scheduler stopped.
  EXPECT_GE(observations, 2);
  EXPECT_LE(observations, 3);
  ASSERT_EQ(refined.size(), 2u);
  EXPECT_EQ(refined[0].rows, 1);
  EXPECT_EQ(refined[1].rows, 4);
  EXPECT_GT(refined[0].cost, absl::Milliseconds(10));  // one row took twice what was measured
}

// The cost model hears of each execution with the rows it ran: one request of one row is a batch
// of one row, which here costs just what the warm-up measured for one row, so nothing moves. (It
// was once reported as two rows, whose estimate is dearer, and pulled the table down.)
TEST(DynamicBatcherTest, TheCostModelObservesTheRowsAnExecutionRan) {
  Recorder recorder;
  Options options = Batching(4);
  options.cost_samples = {{1, 2, absl::Milliseconds(20)}, {4, 2, absl::Milliseconds(80)}};
  std::vector<CostSample> refined;
  options.on_refined_costs = [&](const std::vector<CostSample>& costs, int64_t) {
    refined = costs;
  };
  std::vector<std::unique_ptr<BatchExecutor>> executors;
  executors.push_back(std::make_unique<TwentyMillisecondExecutor>());
  auto batcher = DynamicBatcher::Create(std::move(options), std::move(executors));
  ASSERT_TRUE(batcher.ok()) << batcher.status();
  for (int i = 0; i < 3; ++i) {  // one at a time: three batches of one row, 20 ms each
    (*batcher)->Enqueue(recorder.Make(absl::StrCat("r", i)));
    recorder.WaitFor(i + 1);
  }
  batcher->reset();
  ASSERT_EQ(refined.size(), 2u);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(refined[0].cost), 20.0, 1e-6);
  EXPECT_NEAR(absl::ToDoubleMilliseconds(refined[1].cost), 80.0, 1e-6);
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
  options.default_timeout = absl::Minutes(10);
  options.allow_timeout_override = true;
  Started started = Start(options, 1, &clock);
  FakeExecutor& executor = *started.executors[0];
  executor.Hold();
  const absl::Time start = clock.Now();
  started.batcher->Enqueue(recorder.Make("x"));
  executor.WaitUntilStarted(1);
  started.batcher->Enqueue(recorder.Make("default"));
  auto patient = recorder.Make("patient");
  patient->timeout_override = absl::Minutes(30);
  started.batcher->Enqueue(std::move(patient));
  // The scheduler sleeps until the first queue timeout, then the fake clock passes it.
  clock.BlockUntilSleepingUntil(start + absl::Minutes(10));
  clock.Advance(absl::Minutes(12));
  recorder.WaitFor(1);  // while the executor is still busy
  Outcome timed_out = recorder.Get("default");
  EXPECT_EQ(timed_out.status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(timed_out.status.message(), HasSubstr("'tts'"));
  EXPECT_THAT(timed_out.status.message(), HasSubstr("after waiting 12m"));
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
  // Draining sends what the scheduler holds at once, so the three may go in one batch or, when
  // the shutdown is seen before the last request's event is taken (seen under TSan), in two; in
  // arrival order either way.
  std::vector<std::string> ran;
  for (const FakeExecutor::Batch& batch : started.executors[0]->batches()) {
    for (const std::string& id : Ids(batch)) ran.push_back(id);
  }
  EXPECT_THAT(ran, ElementsAre("a", "b", "c"));
  for (const char* id : {"a", "b", "c"}) EXPECT_TRUE(recorder.Get(id).status.ok());

  started.batcher->Enqueue(recorder.Make("late"));
  EXPECT_EQ(recorder.Get("late").status, absl::UnavailableError("model 'tts' is shutting down"));
  started.batcher->Shutdown();  // idempotent
  EXPECT_EQ(started.batcher->QueueDepth(), 0);
}

}  // namespace
}  // namespace speech
