#include "batcher/batch_policy.h"

#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"

namespace speech {

absl::Status ValidateBatchPolicyOptions(const BatchPolicyOptions& options) {
  if (options.max_batch_size < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_size must be >= 0; was ", options.max_batch_size));
  }
  for (int64_t size : options.preferred_batch_sizes) {
    if (size <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("preferred_batch_sizes must be positive; one was ", size));
    }
    if (options.max_batch_size > 0 && size > options.max_batch_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("preferred_batch_sizes must be <= max_batch_size (", options.max_batch_size,
                       "); one was ", size));
    }
  }
  if (options.max_queue_delay < absl::ZeroDuration() ||
      options.max_queue_delay == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("max_queue_delay must be finite and >= 0; was ",
                                                   absl::FormatDuration(options.max_queue_delay)));
  }
  return absl::OkStatus();
}

BatchDecision BatchDecision::Dispatch(std::vector<size_t> indices) {
  BatchDecision decision;
  decision.kind = Kind::kDispatch;
  decision.indices = std::move(indices);
  return decision;
}

BatchDecision BatchDecision::Wait(absl::Time until) {
  BatchDecision decision;
  decision.kind = Kind::kWait;
  decision.wait_until = until;
  return decision;
}

namespace {

// True when `rows` is a preferred size (max_batch_size when none is configured).
bool IsPreferred(int64_t rows, const BatchPolicyOptions& options) {
  if (options.preferred_batch_sizes.empty()) return rows == options.max_batch_size;
  for (int64_t size : options.preferred_batch_sizes) {
    if (rows == size) return true;
  }
  return false;
}

}  // namespace

BatchDecision DecideBatch(absl::Span<const PendingRequest> pending, absl::Time now,
                          const BatchPolicyOptions& options) {
  if (pending.empty()) return BatchDecision::Idle();

  // Delayed requests go only when nothing else waits.
  size_t start = 0;
  while (start < pending.size() && pending[start].delayed) ++start;
  if (start == pending.size()) start = 0;
  const PendingRequest& first = pending[start];

  if (!options.dynamic_batching || options.max_batch_size == 0) {
    return BatchDecision::Dispatch({start});
  }

  std::vector<size_t> batch = {start};
  int64_t rows = first.rows;
  // Length of the longest prefix of `batch` whose rows make a preferred size; 0 when none does.
  size_t preferred_prefix = IsPreferred(rows, options) ? 1 : 0;
  bool full = rows >= options.max_batch_size;
  for (size_t i = start + 1; i < pending.size() && !full; ++i) {
    const PendingRequest& candidate = pending[i];
    if (candidate.delayed != first.delayed || candidate.shape_key != first.shape_key) continue;
    if (rows + candidate.rows > options.max_batch_size) {
      full = true;
      break;
    }
    batch.push_back(i);
    rows += candidate.rows;
    if (IsPreferred(rows, options)) preferred_prefix = batch.size();
    full = rows == options.max_batch_size;
  }

  if (preferred_prefix > 0) {
    batch.resize(preferred_prefix);
    return BatchDecision::Dispatch(std::move(batch));
  }
  if (full || now - first.arrival >= options.max_queue_delay) {
    return BatchDecision::Dispatch(std::move(batch));
  }
  return BatchDecision::Wait(first.arrival + options.max_queue_delay);
}

uint64_t ShapeKey(const InferenceRequest& request, bool has_batch_dim) {
  size_t key = absl::HashOf(request.inputs.size());
  for (const InputTensor& input : request.inputs) {
    absl::Span<const int64_t> dims = input.shape;
    if (has_batch_dim && !dims.empty()) dims.remove_prefix(1);
    key = absl::HashOf(key, dims);
  }
  return key;
}

}  // namespace speech
