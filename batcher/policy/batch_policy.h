// The batch-formation policy of the dynamic batcher: a pure function from (pending requests, now,
// options) to "dispatch these", "wait until T" or "idle". It owns no state and starts no threads,
// so every rule is tested without threads or real time.
#ifndef SPEECH_BATCHER_POLICY_BATCH_POLICY_H_
#define SPEECH_BATCHER_POLICY_BATCH_POLICY_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "batcher/policy/batch_cost_model.h"
#include "batcher/request.h"

namespace speech {

// What the policy needs to know of one queued request.
struct PendingRequest {
  // Rows the request contributes to a batch (its batch dimension). Ignored when the model does
  // not batch (max_batch_size == 0).
  int64_t rows = 1;
  // When the request was handed to the batcher.
  absl::Time arrival = absl::InfinitePast();
  // Requests with different keys cannot share a batch; see ShapeKey().
  uint64_t shape_key = 0;
  // True once the request outlived its queue timeout under timeout action DELAY: it is dispatched
  // only when no other request is pending.
  bool delayed = false;
  // Elements per row along the padded inputs' variable dimensions (the largest padded input);
  // 0 when the model pads nothing. See ShapeOf().
  int64_t length = 0;
};

struct BatchPolicyOptions {
  // Largest batch, in rows. 0: the model does not batch, and each request runs alone.
  int64_t max_batch_size = 0;
  // False: each request is dispatched alone as soon as it is considered.
  bool dynamic_batching = false;
  // Batch sizes, in rows, that are dispatched as soon as they can be formed. Empty: max_batch_size
  // is the only preferred size.
  std::vector<int64_t> preferred_batch_sizes;
  // How long the oldest request of a batch that reached no preferred size may wait for companions.
  // Zero: whatever is pending is dispatched at once.
  absl::Duration max_queue_delay = absl::ZeroDuration();
  // With a cost model: the least share of its requests' time alone that a batch must save, by
  // the estimates, to be formed (and that a request must save to join one, or a larger batch per
  // row to be waited for), in [0, 1). The estimates promise more than batches deliver: of the
  // tiny wav2vec2's batches on two CPU cores (both benchmark sets, 16 clients), those estimated
  // to save under 10 % saved 0 to 1 % on short commands and cost 1 to 28 % more than their
  // requests alone on long sentences; those estimated at 10 % or more saved 5 to 18 %. A batch
  // also holds each of its requests until the slowest is done, so a saving within that error
  // buys latency for nothing.
  double min_saving = 0.10;
};

// Checks what the policy relies on: max_batch_size >= 0, preferred sizes positive and no larger
// than max_batch_size (when it is positive), max_queue_delay finite and >= 0, min_saving in
// [0, 1). The messages name the offending field and its value.
absl::Status ValidateBatchPolicyOptions(const BatchPolicyOptions& options);

// The policy's answer.
struct BatchDecision {
  enum class Kind {
    kIdle,      // nothing is pending
    kDispatch,  // send `indices` as one batch now
    kWait,      // ask again at `wait_until` (or sooner, when something changes)
  };

  static BatchDecision Idle() { return BatchDecision(); }
  static BatchDecision Dispatch(std::vector<size_t> indices);
  static BatchDecision Wait(absl::Time until);

  Kind kind = Kind::kIdle;
  // kDispatch only: indices into the pending requests, ascending (arrival order); never empty.
  std::vector<size_t> indices;
  // kWait only.
  absl::Time wait_until = absl::InfiniteFuture();
};

// Decides what to dispatch from `pending` (in arrival order) at time `now`:
//
// - Nothing pending: Idle.
// - The batch starts with the oldest request that is not delayed, or with the oldest delayed one
//   when every pending request is delayed; it only ever holds requests of its start's kind and
//   shape_key.
// - Without dynamic batching, or when max_batch_size is 0, the start is dispatched alone at once.
// - Without a cost model (Triton's rules): later requests join the start in arrival order while
//   their rows fit max_batch_size; gathering stops at the first one that does not fit. If a prefix
//   of them has exactly a preferred size of rows, the largest such prefix is dispatched at once.
// - With a cost model (variable-length batching): companions of the start are weighed among the
//   (oldest 64) compatible requests, closest in length first. Of the batches that taking them in
//   that order makes (while their rows fit), the start alone included, the one whose estimated
//   cost (every row padded to its longest) saves the most time against running its requests
//   each alone is chosen; then requests no longer than its padded length join while each saves
//   time. "Saves" means by at least min_saving of the time alone. So requests of similar
//   length travel together, and where a larger batch costs more than it saves nothing joins.
//   The oldest request always goes, so none waits for ever behind others. A batch whose rows are
//   a preferred size goes at once.
// - If the batch is full (rows == max_batch_size, or a compatible request did not fit), it is
//   dispatched at once.
// - If the start has waited max_queue_delay or longer, what was gathered is dispatched.
// - With a cost model, when no larger batch of that length (of the model's measured sizes, up to
//   max_batch_size) would cost at least min_saving less per row (a larger batch costs more per
//   row on this hardware), what was gathered is dispatched at once.
// - Otherwise: Wait until start.arrival + max_queue_delay.
//
// Pure and thread-compatible. REQUIRES: ValidateBatchPolicyOptions(options) is OK; when
// max_batch_size > 0, every request's rows are in [1, max_batch_size].
BatchDecision DecideBatch(absl::Span<const PendingRequest> pending, absl::Time now,
                          const BatchPolicyOptions& options,
                          const BatchCostModel* cost_model = nullptr);

// What the batcher needs to know of a request's shapes.
struct RequestShape {
  // Equal for two requests exactly when (up to 64-bit hash collisions) their inputs have the same
  // shapes, leaving out the batch dimension (the first one) when the model batches and the
  // variable dimensions' sizes of padded inputs.
  uint64_t key = 0;
  // PendingRequest::length.
  int64_t length = 0;
};

// The shape key and length of `request`. `padded_dims[i]` lists the positions in input i's shape
// (batch dimension counted) whose sizes may differ within a batch: the variable dimensions of a
// padded input; it is empty for other inputs, and so are inputs beyond the vector. The length is
// the largest product, over padded inputs, of those dimensions' sizes.
RequestShape ShapeOf(const InferenceRequest& request, bool has_batch_dim,
                     const std::vector<std::vector<int>>& padded_dims);

}  // namespace speech

#endif  // SPEECH_BATCHER_POLICY_BATCH_POLICY_H_
