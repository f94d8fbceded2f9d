#include "batcher/dynamic_batcher.h"

#include <sys/prctl.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "concurrentqueue/blockingconcurrentqueue.h"
#include "proto/check.h"

namespace speech {
namespace {

constexpr uint64_t kShutdownBit = uint64_t{1} << 63;
constexpr uint64_t kDepthMask = kShutdownBit - 1;
// Events the scheduler takes from its inbox at a time.
constexpr size_t kEventBatch = 64;
// Batches of events the scheduler takes before it decides again.
constexpr int kMaxEventRounds = 16;

std::string Waited(absl::Time since, absl::Time now) { return absl::FormatDuration(now - since); }

}  // namespace

struct DynamicBatcher::EventQueue {
  moodycamel::BlockingConcurrentQueue<Event> queue;
};

struct DynamicBatcher::Worker {
  std::unique_ptr<BatchExecutor> executor;
  // Claimed by the scheduler (for a batch) or by Enqueue's inline path; released by whoever ran
  // the batch once its requests are answered.
  std::atomic<bool> busy{false};
  // The batch to run next (at most one: a worker gets a batch only when idle); empty means stop.
  moodycamel::BlockingConcurrentQueue<std::vector<Waiting>> inbox;
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<DynamicBatcher>> DynamicBatcher::Create(
    Options options, std::vector<std::unique_ptr<BatchExecutor>> executors, Clock* clock) {
  const std::string prefix = absl::StrCat("model '", options.model_name, "': ");
  BatchPolicyOptions policy;
  policy.max_batch_size = options.max_batch_size;
  policy.dynamic_batching = options.dynamic_batching;
  policy.preferred_batch_sizes = options.preferred_batch_sizes;
  policy.max_queue_delay = options.max_queue_delay;
  if (absl::Status status = ValidateBatchPolicyOptions(policy); !status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, status.message()));
  }
  if (options.max_queue_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "max_queue_size must be >= 0; was ", options.max_queue_size));
  }
  if (options.default_timeout < absl::ZeroDuration() ||
      options.default_timeout == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix,
                                                   "default_timeout must be finite and >= 0; was ",
                                                   absl::FormatDuration(options.default_timeout)));
  }
  if (executors.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, "at least one executor is required; got 0"));
  }
  for (size_t i = 0; i < executors.size(); ++i) {
    if (executors[i] == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, "executor ", i, " is null"));
    }
  }
  if (clock == nullptr) return absl::InvalidArgumentError(prefix + "clock is null");
  std::optional<BatchCostModel> cost_model;
  if (!options.cost_samples.empty()) {
    absl::StatusOr<BatchCostModel> model = BatchCostModel::Create(options.cost_samples);
    if (!model.ok()) {
      return absl::InvalidArgumentError(prefix + std::string(model.status().message()));
    }
    cost_model = *std::move(model);
  }

  std::unique_ptr<DynamicBatcher> batcher(
      new DynamicBatcher(std::move(options), std::move(policy), clock));
  batcher->cost_model_ = std::move(cost_model);
  for (int i = 0; i < static_cast<int>(executors.size()); ++i) {
    auto worker = std::make_unique<Worker>();
    worker->executor = std::move(executors[i]);
    batcher->workers_.push_back(std::move(worker));
  }
  batcher->inline_allowed_ =
      batcher->options_.run_inline_when_idle && !batcher->options_.preserve_ordering;
  for (const std::unique_ptr<Worker>& worker : batcher->workers_) {
    worker->thread = std::thread([b = batcher.get(), w = worker.get()] { b->WorkerLoop(w); });
  }
  batcher->scheduler_ = std::thread([b = batcher.get()] { b->SchedulerLoop(); });
  return batcher;
}

DynamicBatcher::DynamicBatcher(Options options, BatchPolicyOptions policy_options, Clock* clock)
    : options_(std::move(options)),
      policy_options_(std::move(policy_options)),
      clock_(clock),
      events_(std::make_unique<EventQueue>()),
      // A clock that jumps (a fake one) ends the scheduler's timed wait with a wake-up event.
      sleeper_(clock->NewSleeper([events = events_.get()] {
        Event wake;
        wake.wake_up = true;
        SPEECH_CHECK(events->queue.enqueue(std::move(wake)), "out of memory waking the scheduler");
      })) {}

DynamicBatcher::~DynamicBatcher() { Shutdown(); }

void DynamicBatcher::Enqueue(std::unique_ptr<InferenceRequest> request) {
  request->times.arrival = clock_->Now();
  const int64_t rows = request->batch_rows;
  if (options_.max_batch_size > 0 && (rows < 1 || rows > options_.max_batch_size)) {
    CompleteRequest(std::move(request),
                    absl::InvalidArgumentError(absl::StrCat(
                        "model '", options_.model_name, "': a request of ", rows,
                        " rows does not fit max_batch_size ", options_.max_batch_size)));
    return;
  }
  const uint64_t max_queue_size = static_cast<uint64_t>(options_.max_queue_size);
  uint64_t state = state_.load(std::memory_order_relaxed);
  do {
    if ((state & kShutdownBit) != 0) {
      CompleteRequest(std::move(request),
                      absl::UnavailableError(
                          absl::StrCat("model '", options_.model_name, "' is shutting down")));
      return;
    }
    if (max_queue_size > 0 && (state & kDepthMask) >= max_queue_size) {
      CompleteRequest(std::move(request),
                      absl::UnavailableError(absl::StrCat("queue of model '", options_.model_name,
                                                          "' is full (max_queue_size ",
                                                          max_queue_size, "); retry later")));
      return;
    }
  } while (!state_.compare_exchange_weak(state, state + 1, std::memory_order_acq_rel,
                                         std::memory_order_relaxed));

  Event event;
  event.shape = ShapeOf(*request, options_.max_batch_size > 0, options_.padded_dims);
  // Only a request that found the queue empty (state was 0: nothing queued, not shutting down)
  // may skip it.
  if (inline_allowed_ && state == 0 && TryRunInline(request, event.shape)) return;
  event.sequence = next_sequence_.fetch_add(1, std::memory_order_relaxed);
  event.request = std::move(request);
  SPEECH_CHECK(events_->queue.enqueue(std::move(event)), "out of memory queueing a request");
}

DynamicBatcher::Worker* DynamicBatcher::ClaimIdleWorker() {
  for (const std::unique_ptr<Worker>& worker : workers_) {
    bool expected = false;
    if (!worker->busy.load(std::memory_order_relaxed) &&
        worker->busy.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
      return worker.get();
    }
  }
  return nullptr;
}

bool DynamicBatcher::TryRunInline(std::unique_ptr<InferenceRequest>& request,
                                  const RequestShape& shape) {
  // The request counts as accepted (state_ holds it) until the very end, so that Shutdown waits
  // for it and nothing here touches the batcher after Shutdown could return.
  const absl::Time now = request->times.arrival;
  // One that must be dropped takes the queue's path, which drops it with its reason.
  const bool droppable = !DropReason(*request, TimeoutAt(*request), now).ok();
  PendingRequest alone;
  alone.rows = request->batch_rows;
  alone.arrival = now;
  alone.shape_key = shape.key;
  alone.length = shape.length;
  // The cost model belongs to the scheduler thread: a model that has one never runs inline.
  if (droppable || cost_model_.has_value() ||
      DecideBatch(absl::MakeConstSpan(&alone, 1), now, policy_options_).kind !=
          BatchDecision::Kind::kDispatch) {
    return false;
  }
  Worker* worker = ClaimIdleWorker();
  if (worker == nullptr) return false;
  request->times.dispatch = now;
  InferenceRequest* const batch[] = {request.get()};
  const absl::Status status = Run(*worker->executor, batch);
  if (!status.ok()) request->outputs.clear();
  CompleteRequest(std::move(request), status);
  worker->busy.store(false, std::memory_order_release);
  // Requests may have queued behind this one while the worker looked busy.
  SPEECH_CHECK(events_->queue.enqueue(IdleEvent({}, 0, status)),
               "out of memory waking the scheduler");
  state_.fetch_sub(1, std::memory_order_acq_rel);
  return true;
}

int64_t DynamicBatcher::QueueDepth() const {
  return static_cast<int64_t>(state_.load(std::memory_order_relaxed) & kDepthMask);
}

void DynamicBatcher::Shutdown() {
  absl::MutexLock lock(&shutdown_mu_);
  if (shut_down_) return;
  state_.fetch_or(kShutdownBit, std::memory_order_acq_rel);
  SPEECH_CHECK(events_->queue.enqueue(Event()), "out of memory waking the scheduler");
  scheduler_.join();
  for (const std::unique_ptr<Worker>& worker : workers_) worker->thread.join();
  shut_down_ = true;
  if (cost_model_.has_value() && options_.on_refined_costs) {
    options_.on_refined_costs(cost_model_->Refined(), cost_model_->observations());
  }
}

void DynamicBatcher::SchedulerLoop() {
  // The scheduler sleeps until a queue delay ends; Linux's default 50 us timer slack would add
  // up to that much to every delayed batch.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  std::vector<Event> events(kEventBatch);
  while (true) {
    const absl::Time now = clock_->Now();
    // Once shutting down, queued requests go without waiting for companions.
    const bool draining = (state_.load(std::memory_order_acquire) & kShutdownBit) != 0;
    if (now >= next_check_) Sweep(now);
    absl::Time wake = next_check_;
    while (!pending_.empty()) {
      Worker* worker = ClaimIdleWorker();
      if (worker == nullptr) break;  // a worker's wake-up event brings us back
      BatchDecision decision =
          DecideBatch(pending_, draining ? absl::InfiniteFuture() : now, policy_options_,
                      cost_model_.has_value() ? &*cost_model_ : nullptr);
      if (decision.kind == BatchDecision::Kind::kDispatch && DropUnwanted(decision.indices, now)) {
        Dispatch(decision.indices, now, *worker);
        continue;
      }
      worker->busy.store(false, std::memory_order_release);
      if (decision.kind == BatchDecision::Kind::kIdle) break;
      if (decision.kind == BatchDecision::Kind::kWait) {
        wake = std::min(wake, decision.wait_until);
        break;
      }
    }
    if (draining && (state_.load(std::memory_order_acquire) & kDepthMask) == 0) break;

    absl::Duration timeout = sleeper_->BeginWait(wake);
    // A request running inline holds the drain open without queueing anything: look again soon,
    // in real time whatever the clock.
    if (draining) timeout = std::min(timeout, absl::Milliseconds(1));
    size_t count =
        events_->queue.wait_dequeue_bulk_timed(events.begin(), events.size(), WaitMicros(timeout));
    sleeper_->EndWait();
    // Take what else is there before deciding: the queue is not FIFO across producers, so the
    // event that woke us may have overtaken a request enqueued before it. Bounded, so that a
    // flood of requests cannot keep the idle instances waiting.
    for (int rounds = 0; count > 0 && rounds < kMaxEventRounds; ++rounds) {
      for (size_t i = 0; i < count; ++i) Accept(std::move(events[i]));
      count = events_->queue.try_dequeue_bulk(events.begin(), events.size());
    }
    for (size_t i = 0; i < count; ++i) Accept(std::move(events[i]));
  }
  for (const std::unique_ptr<Worker>& worker : workers_) {
    SPEECH_CHECK(worker->inbox.enqueue({}), "out of memory stopping a worker");
  }
}

int64_t DynamicBatcher::WaitMicros(absl::Duration timeout) {
  if (timeout == absl::InfiniteDuration()) return -1;  // until an event comes
  if (timeout <= absl::ZeroDuration()) return 0;
  return absl::ToInt64Microseconds(absl::Ceil(timeout, absl::Microseconds(1)));
}

void DynamicBatcher::Accept(Event event) {
  if (event.request == nullptr) {  // a wake-up, maybe with what an execution cost
    if (cost_model_.has_value() && event.executed.cost > absl::ZeroDuration()) {
      cost_model_->Observe(event.executed.rows, event.executed.length, event.executed.cost);
    }
    return;
  }

  Waiting waiting;
  waiting.sequence = event.sequence;
  const InferenceRequest& request = *event.request;
  waiting.timeout_at = TimeoutAt(request);
  next_check_ = std::min({next_check_, waiting.timeout_at, request.deadline});

  PendingRequest pending;
  pending.rows = request.batch_rows;
  pending.arrival = request.times.arrival;
  pending.shape_key = event.shape.key;
  pending.length = event.shape.length;
  waiting.length = event.shape.length;
  waiting.request = std::move(event.request);

  // Producers' events may come out of the lock-free queue slightly out of order.
  auto position = waiting_.end();
  if (!waiting_.empty() && waiting_.back().sequence > waiting.sequence) {
    position = std::upper_bound(
        waiting_.begin(), waiting_.end(), waiting.sequence,
        [](uint64_t sequence, const Waiting& other) { return sequence < other.sequence; });
  }
  pending_.insert(pending_.begin() + (position - waiting_.begin()), pending);
  waiting_.insert(position, std::move(waiting));
}

absl::Time DynamicBatcher::TimeoutAt(const InferenceRequest& request) const {
  const bool overridden = options_.allow_timeout_override &&
                          request.timeout_override != absl::InfiniteDuration() &&
                          request.timeout_override != -absl::InfiniteDuration();
  if (overridden) return request.times.arrival + request.timeout_override;
  if (options_.default_timeout > absl::ZeroDuration()) {
    return request.times.arrival + options_.default_timeout;
  }
  return absl::InfiniteFuture();
}

absl::Status DynamicBatcher::DropReason(size_t index, absl::Time now) const {
  return DropReason(*waiting_[index].request, waiting_[index].timeout_at, now);
}

absl::Status DynamicBatcher::DropReason(const InferenceRequest& request, absl::Time timeout_at,
                                        absl::Time now) const {
  if (request.is_cancelled && request.is_cancelled()) {
    return absl::CancelledError(absl::StrCat("request cancelled after waiting ",
                                             Waited(request.times.arrival, now),
                                             " in the queue of model '", options_.model_name, "'"));
  }
  if (now >= request.deadline) {
    return absl::DeadlineExceededError(
        absl::StrCat("deadline passed after waiting ", Waited(request.times.arrival, now),
                     " in the queue of model '", options_.model_name, "'"));
  }
  if (now >= timeout_at && options_.timeout_action == TimeoutAction::kReject) {
    return absl::DeadlineExceededError(
        absl::StrCat("request timed out after waiting ", Waited(request.times.arrival, now),
                     " in the queue of model '", options_.model_name, "' (queue timeout ",
                     absl::FormatDuration(timeout_at - request.times.arrival), ")"));
  }
  return absl::OkStatus();
}

void DynamicBatcher::Sweep(absl::Time now) {
  std::vector<size_t> drop;
  std::vector<absl::Status> reasons;
  next_check_ = absl::InfiniteFuture();
  for (size_t i = 0; i < waiting_.size(); ++i) {
    absl::Status reason = DropReason(i, now);
    if (!reason.ok()) {
      drop.push_back(i);
      reasons.push_back(std::move(reason));
      continue;
    }
    if (now >= waiting_[i].timeout_at) {  // kDelay: it stays, behind everything else
      pending_[i].delayed = true;
      waiting_[i].timeout_at = absl::InfiniteFuture();
    }
    next_check_ = std::min({next_check_, waiting_[i].timeout_at, waiting_[i].request->deadline});
  }
  if (drop.empty()) return;
  std::vector<Waiting> dropped = Remove(drop);
  state_.fetch_sub(dropped.size(), std::memory_order_acq_rel);
  for (size_t i = 0; i < dropped.size(); ++i) {
    Finish(std::move(dropped[i].request), dropped[i].sequence, std::move(reasons[i]));
  }
}

bool DynamicBatcher::DropUnwanted(const std::vector<size_t>& indices, absl::Time now) {
  for (size_t index : indices) {
    if (!DropReason(index, now).ok()) {
      // Rare (a cancellation since the last sweep): a full sweep finds it and any other.
      Sweep(now);
      return false;
    }
  }
  return true;
}

void DynamicBatcher::Dispatch(const std::vector<size_t>& indices, absl::Time now, Worker& worker) {
  std::vector<Waiting> batch = Remove(indices);
  state_.fetch_sub(batch.size(), std::memory_order_acq_rel);
  for (Waiting& waiting : batch) waiting.request->times.dispatch = now;
  SPEECH_CHECK(worker.inbox.enqueue(std::move(batch)), "out of memory handing over a batch");
}

std::vector<DynamicBatcher::Waiting> DynamicBatcher::Remove(const std::vector<size_t>& indices) {
  std::vector<Waiting> removed;
  removed.reserve(indices.size());
  size_t kept = 0;
  size_t next = 0;  // into indices
  for (size_t i = 0; i < waiting_.size(); ++i) {
    if (next < indices.size() && indices[next] == i) {
      removed.push_back(std::move(waiting_[i]));
      ++next;
      continue;
    }
    if (kept != i) {
      waiting_[kept] = std::move(waiting_[i]);
      pending_[kept] = pending_[i];
    }
    ++kept;
  }
  waiting_.resize(kept);
  pending_.resize(kept);
  return removed;
}

void DynamicBatcher::WorkerLoop(Worker* worker) {
  std::vector<InferenceRequest*> requests;
  while (true) {
    std::vector<Waiting> batch;
    worker->inbox.wait_dequeue(batch);
    if (batch.empty()) return;
    requests.clear();
    int64_t length = 0;
    for (const Waiting& waiting : batch) {
      requests.push_back(waiting.request.get());
      length = std::max(length, waiting.length);
    }
    const absl::Status status = Run(*worker->executor, requests);
    Event idle = IdleEvent(requests, length, status);
    for (Waiting& waiting : batch) {
      if (!status.ok()) waiting.request->outputs.clear();
      Finish(std::move(waiting.request), waiting.sequence, status);
    }
    // Only now: a worker asks for more work once its last batch is answered.
    worker->busy.store(false, std::memory_order_release);
    SPEECH_CHECK(events_->queue.enqueue(std::move(idle)), "out of memory reporting an idle worker");
  }
}

DynamicBatcher::Event DynamicBatcher::IdleEvent(absl::Span<InferenceRequest* const> batch,
                                                int64_t length, const absl::Status& status) {
  Event idle;
  idle.wake_up = true;
  if (!status.ok() || batch.empty()) return idle;
  // CostSample counts one row by default: start from none.
  idle.executed.rows = 0;
  for (const InferenceRequest* request : batch) idle.executed.rows += request->batch_rows;
  idle.executed.length = length;
  const PhaseTimes& times = batch.front()->times;
  if (times.compute_input_start != absl::InfinitePast() &&
      times.compute_output_end != absl::InfinitePast()) {
    idle.executed.cost = times.compute_output_end - times.compute_input_start;
  }
  return idle;
}

absl::Status DynamicBatcher::Run(BatchExecutor& executor,
                                 absl::Span<InferenceRequest* const> batch) const {
  try {
    return executor.Execute(batch);
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("model '", options_.model_name, "' failed with an exception: ", e.what()));
  } catch (...) {
    return absl::InternalError(
        absl::StrCat("model '", options_.model_name, "' failed with an unknown exception"));
  }
}

void DynamicBatcher::Finish(std::unique_ptr<InferenceRequest> request, uint64_t sequence,
                            absl::Status status) {
  if (!options_.preserve_ordering) {
    CompleteRequest(std::move(request), std::move(status));
    return;
  }
  {
    absl::MutexLock lock(&reorder_mu_);
    finished_.emplace(sequence, Finished{std::move(request), std::move(status)});
    if (completing_) return;  // that thread will complete this one in its turn
    completing_ = true;
  }
  // Completions run outside the lock, and only one thread runs them at a time, so that they
  // happen in order.
  std::vector<Finished> ready;
  while (true) {
    {
      absl::MutexLock lock(&reorder_mu_);
      for (auto it = finished_.find(next_to_complete_); it != finished_.end();
           it = finished_.find(++next_to_complete_)) {
        ready.push_back(std::move(it->second));
        finished_.erase(it);
      }
      if (ready.empty()) {
        completing_ = false;
        return;
      }
    }
    for (Finished& done : ready) CompleteRequest(std::move(done.request), std::move(done.status));
    ready.clear();
  }
}

}  // namespace speech
