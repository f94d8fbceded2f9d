#include "batcher/policy/batch_policy.h"

#include <algorithm>
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
  if (!(options.min_saving >= 0 && options.min_saving < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_saving must be in [0, 1); was ", options.min_saving));
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

namespace {

// Cost-aware batch formation: at most this many companions are weighed, the oldest first.
constexpr size_t kMaxCandidates = 64;

double Seconds(const BatchCostModel& cost, int64_t rows, int64_t length) {
  return absl::ToDoubleSeconds(cost.Estimate(rows, std::max<int64_t>(length, 1)));
}

struct Chosen {
  std::vector<size_t> indices;  // ascending
  int64_t rows = 0;
  int64_t length = 0;  // the batch's padded length
};

// The start and the companions among `others` (indices into `pending`) that save the most
// time against running each request on its own. Candidates are taken closest in length first
// (skipping any whose rows no longer fit); of the batches that order makes, the start alone
// included, the one whose estimated cost (every row padded to its longest) is the furthest below
// the sum of its requests' costs alone wins, if it saves at least min_saving of that sum. All are
// weighed, not only the next, because where batching pays the first companions may save little
// and the later ones much. Then the candidates passed over that are no longer than the winner's
// padded length join while each saves min_saving of its own time (it adds rows and no padding).
// So requests of similar length travel together, and where a larger batch costs more per row
// than it saves, nothing joins.
Chosen BestBatch(absl::Span<const PendingRequest> pending, size_t start, std::vector<size_t> others,
                 const BatchPolicyOptions& options, const BatchCostModel& cost) {
  const PendingRequest& first = pending[start];
  auto distance = [&](size_t i) { return std::abs(pending[i].length - first.length); };
  std::stable_sort(others.begin(), others.end(),
                   [&](size_t a, size_t b) { return distance(a) < distance(b); });
  auto alone = [&](const PendingRequest& request) {
    return Seconds(cost, request.rows, request.length);
  };
  Chosen batch{{start}, first.rows, first.length};
  Chosen growing = batch;
  double alone_sum = alone(first);  // of the requests in `growing`
  double best_saving = 0;
  std::vector<bool> in_growing(others.size(), false);
  std::vector<bool> in_batch = in_growing;
  for (size_t k = 0; k < others.size() && growing.rows < options.max_batch_size; ++k) {
    const PendingRequest& candidate = pending[others[k]];
    if (growing.rows + candidate.rows > options.max_batch_size) continue;
    growing.indices.push_back(others[k]);
    growing.rows += candidate.rows;
    growing.length = std::max(growing.length, candidate.length);
    alone_sum += alone(candidate);
    in_growing[k] = true;
    const double saving = alone_sum - Seconds(cost, growing.rows, growing.length);
    if (saving > best_saving && saving >= options.min_saving * alone_sum) {
      best_saving = saving;
      batch = growing;
      in_batch = in_growing;
    }
  }
  double seconds = Seconds(cost, batch.rows, batch.length);
  for (size_t k = 0; k < others.size() && batch.rows < options.max_batch_size; ++k) {
    const PendingRequest& candidate = pending[others[k]];
    if (in_batch[k] || candidate.length > batch.length ||
        batch.rows + candidate.rows > options.max_batch_size) {
      continue;
    }
    const double with = Seconds(cost, batch.rows + candidate.rows, batch.length);
    if (with - seconds > (1 - options.min_saving) * alone(candidate)) continue;
    batch.indices.push_back(others[k]);
    batch.rows += candidate.rows;
    seconds = with;
  }
  std::sort(batch.indices.begin(), batch.indices.end());
  return batch;
}

// True when some batch of more rows at `length` (up to max_batch_size) would cost at least
// min_saving less per row than `rows` rows do: then companions are worth waiting for.
bool LargerBatchPays(int64_t rows, int64_t length, const BatchPolicyOptions& options,
                     const BatchCostModel& cost) {
  const double per_row_now = Seconds(cost, rows, length) / rows;
  std::vector<int64_t> larger = cost.row_counts();
  larger.push_back(options.max_batch_size);
  for (int64_t more : larger) {
    if (more <= rows || more > options.max_batch_size) continue;
    if (Seconds(cost, more, length) / more <= (1 - options.min_saving) * per_row_now) return true;
  }
  return false;
}

BatchDecision DecideByCost(absl::Span<const PendingRequest> pending, size_t start, absl::Time now,
                           const BatchPolicyOptions& options, const BatchCostModel& cost) {
  const PendingRequest& first = pending[start];
  std::vector<size_t> others;
  for (size_t i = start + 1; i < pending.size() && others.size() < kMaxCandidates; ++i) {
    const PendingRequest& candidate = pending[i];
    if (candidate.delayed == first.delayed && candidate.shape_key == first.shape_key) {
      others.push_back(i);
    }
  }
  const Chosen best = BestBatch(pending, start, std::move(others), options, cost);
  if (best.rows >= options.max_batch_size || IsPreferred(best.rows, options) ||
      now - first.arrival >= options.max_queue_delay ||
      !LargerBatchPays(best.rows, best.length, options, cost)) {
    return BatchDecision::Dispatch(best.indices);
  }
  return BatchDecision::Wait(first.arrival + options.max_queue_delay);
}

}  // namespace

BatchDecision DecideBatch(absl::Span<const PendingRequest> pending, absl::Time now,
                          const BatchPolicyOptions& options, const BatchCostModel* cost_model) {
  if (pending.empty()) return BatchDecision::Idle();

  // Delayed requests go only when nothing else waits.
  size_t start = 0;
  while (start < pending.size() && pending[start].delayed) ++start;
  if (start == pending.size()) start = 0;
  const PendingRequest& first = pending[start];

  if (!options.dynamic_batching || options.max_batch_size == 0) {
    return BatchDecision::Dispatch({start});
  }
  if (cost_model != nullptr) return DecideByCost(pending, start, now, options, *cost_model);

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

RequestShape ShapeOf(const InferenceRequest& request, bool has_batch_dim,
                     const std::vector<std::vector<int>>& padded_dims) {
  RequestShape shape;
  size_t key = absl::HashOf(request.inputs.size());
  for (size_t i = 0; i < request.inputs.size(); ++i) {
    std::vector<int64_t> dims = request.inputs[i].shape;
    if (i < padded_dims.size() && !padded_dims[i].empty()) {
      int64_t length = 1;
      for (int d : padded_dims[i]) {
        length *= dims[d];
        dims[d] = -1;  // any size shares the batch
      }
      shape.length = std::max(shape.length, length);
    }
    absl::Span<const int64_t> kept = dims;
    if (has_batch_dim && !kept.empty()) kept.remove_prefix(1);
    key = absl::HashOf(key, kept);
  }
  shape.key = key;
  return shape;
}

}  // namespace speech
