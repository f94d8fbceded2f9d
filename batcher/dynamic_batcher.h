// The dynamic batcher of one model: takes requests from network handler threads without locking,
// forms batches with the batch policy (batch_policy.h) whenever a model instance is free, runs them
// on the instances' executors and completes every request exactly once.
//
// Threads: one scheduler thread owns the queue and makes every batching decision; one worker
// thread per executor runs its batches. Handlers reach the scheduler through a lock-free queue
// (moodycamel::BlockingConcurrentQueue) that also carries "instance idle" notices, so the scheduler
// waits in one place. Batches are formed only when an instance is idle, so they grow while every
// instance is busy.
#ifndef SPEECH_BATCHER_DYNAMIC_BATCHER_H_
#define SPEECH_BATCHER_DYNAMIC_BATCHER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "batcher/clock.h"
#include "batcher/executor.h"
#include "batcher/policy/batch_cost_model.h"
#include "batcher/policy/batch_policy.h"
#include "batcher/request.h"

namespace speech {

// Thread-safe: Enqueue, QueueDepth and Shutdown may be called from any thread, except that
// Shutdown (and the destructor) must not be called from a completion callback. Owns its executors
// and threads; borrows the clock, which must outlive it.
class DynamicBatcher {
 public:
  // What happens to a request that waited longer than its queue timeout.
  enum class TimeoutAction {
    kReject,  // it fails with DEADLINE_EXCEEDED
    kDelay,   // it stays queued but goes only when no other request waits
  };

  // Mirrors Triton's `max_batch_size` and `dynamic_batching { ... default_queue_policy { ... } }`.
  struct Options {
    // Names the model in error messages.
    std::string model_name;
    // Largest batch, in rows. 0: the model does not batch; every request runs alone and its
    // inputs carry no batch dimension. Otherwise a request's batch_rows must be in
    // [1, max_batch_size] (else it fails at once with INVALID_ARGUMENT).
    int64_t max_batch_size = 0;
    // False: each request runs alone, in arrival order, as soon as an instance is free.
    bool dynamic_batching = false;
    // Batch sizes, in rows, sent as soon as they can be formed; each in [1, max_batch_size].
    // Empty: max_batch_size is the preferred size.
    std::vector<int64_t> preferred_batch_sizes;
    // How long the oldest queued request may wait for companions when no preferred size can be
    // formed. Zero: send what there is whenever an instance is free.
    absl::Duration max_queue_delay = absl::ZeroDuration();
    // True: requests are completed in the order they were accepted by Enqueue, whatever their
    // outcome (requests rejected by Enqueue itself are answered at once and not ordered).
    bool preserve_ordering = false;
    // Most requests accepted and not yet dispatched; a request beyond it fails at once with
    // UNAVAILABLE (retryable). 0: unbounded.
    int64_t max_queue_size = 0;
    // Queue timeout of every request, unless overridden (below). Zero: none.
    absl::Duration default_timeout = absl::ZeroDuration();
    // True: a request's finite `timeout_override` replaces default_timeout (an override of zero
    // times out at once; an infinite one means "not given").
    bool allow_timeout_override = false;
    TimeoutAction timeout_action = TimeoutAction::kReject;
    // True: when nothing is queued, an instance is idle and the policy would send a request
    // alone at once anyway, Enqueue runs it on the calling thread instead of handing it to the
    // scheduler and a worker (two thread hand-offs less). Enqueue then blocks for the model's
    // run time, so this suits models that take microseconds. Ignored with preserve_ordering,
    // and with cost samples (the cost model belongs to the scheduler).
    bool run_inline_when_idle = false;
    // Variable-length batching. padded_dims[i] lists the positions in input i's shape (batch
    // dimension counted) whose sizes may differ within a batch (see ShapeOf in batch_policy.h);
    // empty: requests batch only with requests of the same shapes.
    std::vector<std::vector<int>> padded_dims;
    // What batches cost on this model and hardware, measured at warm-up (a full grid, see
    // BatchCostModel). Given, batches are formed for throughput and the estimates are refined
    // from every execution; empty: Triton's rules.
    std::vector<CostSample> cost_samples;
    // With cost_samples: called once by Shutdown, after the scheduler stopped, with the cost
    // model's refined estimates (BatchCostModel::Refined) and how many executions refined them,
    // so that an operator can compare what the batcher learned with what the warm-up measured.
    std::function<void(const std::vector<CostSample>& refined, int64_t observations)>
        on_refined_costs;
  };

  // Validates `options` (messages name the field and its value, e.g. "max_batch_size must be
  // >= 0; was -1") and starts the scheduler and one worker per executor.
  static absl::StatusOr<std::unique_ptr<DynamicBatcher>> Create(
      Options options, std::vector<std::unique_ptr<BatchExecutor>> executors,
      Clock* clock = RealClock::Get());

  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;
  // Calls Shutdown().
  ~DynamicBatcher();

  // Stamps `times.arrival` and queues the request, or completes it at once (on the calling thread)
  // with UNAVAILABLE when the batcher is shutting down or the queue is full, or INVALID_ARGUMENT
  // when its batch_rows do not fit. Never blocks and takes no mutex (it may allocate).
  // REQUIRES: request != nullptr and request->on_complete is set.
  void Enqueue(std::unique_ptr<InferenceRequest> request);

  // In this order: refuses new requests with UNAVAILABLE; dispatches and computes every request
  // already accepted, without waiting for max_queue_delay (queued requests may still be dropped
  // as cancelled or timed out); joins the scheduler; joins the workers. Returns once every
  // accepted request is completed. Idempotent; concurrent callers all return after the drain.
  void Shutdown();

  // Requests accepted by Enqueue and not yet dispatched or dropped. A snapshot.
  int64_t QueueDepth() const;

 private:
  // What the scheduler's lock-free inbox carries: a newly accepted request, or a worker that
  // became idle, or (neither) a wake-up.
  struct Event {
    std::unique_ptr<InferenceRequest> request;
    uint64_t sequence = 0;  // arrival order, for preserve_ordering
    RequestShape shape;
    bool wake_up = false;  // a worker became idle: look at the queue again
    // With wake_up after an execution: what it ran and what it cost, for the cost model.
    CostSample executed;
  };
  // A request the scheduler holds.
  struct Waiting {
    std::unique_ptr<InferenceRequest> request;
    uint64_t sequence = 0;
    int64_t length = 0;                              // PendingRequest::length
    absl::Time timeout_at = absl::InfiniteFuture();  // when its queue timeout fires
  };
  struct EventQueue;  // moodycamel, kept out of this header
  struct Worker;
  struct Finished {
    std::unique_ptr<InferenceRequest> request;
    absl::Status status;
  };

  DynamicBatcher(Options options, BatchPolicyOptions policy_options, Clock* clock);

  // Scheduler thread.
  void SchedulerLoop();
  void Accept(Event event);
  // Fails or delays the requests whose deadline, cancellation or queue timeout calls for it, and
  // recomputes next_check_.
  void Sweep(absl::Time now);
  // Drops those of `indices` that must not run; false if it dropped any.
  bool DropUnwanted(const std::vector<size_t>& indices, absl::Time now);
  // Why the request at `index` must leave the queue uncomputed at `now`; OK if it may stay.
  absl::Status DropReason(size_t index, absl::Time now) const;
  absl::Status DropReason(const InferenceRequest& request, absl::Time timeout_at,
                          absl::Time now) const;
  // When `request`'s queue timeout fires (infinite future: never).
  absl::Time TimeoutAt(const InferenceRequest& request) const;
  // Hands the requests at `indices` to `worker`, which the caller claimed.
  void Dispatch(const std::vector<size_t>& indices, absl::Time now, Worker& worker);
  // Moves the requests at `indices` (ascending) out of the queue.
  std::vector<Waiting> Remove(const std::vector<size_t>& indices);
  // The scheduler's wait in the unit the lock-free queue takes: -1 for ever, else microseconds.
  static int64_t WaitMicros(absl::Duration timeout);

  // Claims an idle worker (any thread); nullptr when all are busy.
  Worker* ClaimIdleWorker();
  // Enqueue's inline path; false (request untouched) when it does not apply.
  bool TryRunInline(std::unique_ptr<InferenceRequest>& request, const RequestShape& shape);
  // The wake-up a worker (or the inline path) sends once it is idle again, with what it ran.
  static Event IdleEvent(absl::Span<InferenceRequest* const> batch, int64_t length,
                         const absl::Status& status);

  // Worker threads.
  void WorkerLoop(Worker* worker);
  absl::Status Run(BatchExecutor& executor, absl::Span<InferenceRequest* const> batch) const;

  // Any thread: completes the request, in arrival order when preserve_ordering.
  void Finish(std::unique_ptr<InferenceRequest> request, uint64_t sequence, absl::Status status);

  // Constant after construction.
  const Options options_;
  const BatchPolicyOptions policy_options_;
  Clock* const clock_;
  std::unique_ptr<EventQueue> events_;
  // The scheduler's timed waits (after events_, whose queue its wake-up uses).
  std::unique_ptr<Sleeper> sleeper_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::thread scheduler_;

  // Lock-free state shared by Enqueue and the scheduler: the top bit is "shutting down", the rest
  // counts requests accepted and not yet dispatched or dropped. One word, so that no request is
  // accepted after the scheduler saw the shutdown and an empty queue.
  std::atomic<uint64_t> state_{0};
  std::atomic<uint64_t> next_sequence_{0};
  // Options allow the inline path (constant after construction).
  bool inline_allowed_ = false;

  // Owned by the scheduler thread. waiting_ and pending_ are parallel, in arrival order.
  std::vector<Waiting> waiting_;
  std::vector<PendingRequest> pending_;

  // Owned by the scheduler thread; set when options give cost samples.
  std::optional<BatchCostModel> cost_model_;

  // No queued request's deadline or queue timeout passes before this.
  absl::Time next_check_ = absl::InfiniteFuture();

  // The reorder buffer (preserve_ordering): finished requests wait here for earlier ones.
  absl::Mutex reorder_mu_;
  absl::flat_hash_map<uint64_t, Finished> finished_ ABSL_GUARDED_BY(reorder_mu_);
  uint64_t next_to_complete_ ABSL_GUARDED_BY(reorder_mu_) = 0;
  // True while some thread completes ready requests; others only leave theirs in finished_.
  bool completing_ ABSL_GUARDED_BY(reorder_mu_) = false;

  absl::Mutex shutdown_mu_;
  bool shut_down_ ABSL_GUARDED_BY(shutdown_mu_) = false;
};

}  // namespace speech

#endif  // SPEECH_BATCHER_DYNAMIC_BATCHER_H_
