#include "server/metrics/model/model_stats.h"

#include <algorithm>
#include <utility>

namespace speech {
namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// Nanoseconds from `from` to `to`; 0 when either is unset or time went backwards.
uint64_t Nanos(absl::Time from, absl::Time to) {
  if (from == absl::InfinitePast() || to == absl::InfinitePast()) return 0;
  const int64_t nanos = absl::ToInt64Nanoseconds(to - from);
  return nanos > 0 ? static_cast<uint64_t>(nanos) : 0;
}

// A duration histogram's sum (non-negative nanoseconds) as a statistics total.
uint64_t TotalNs(const Histogram& histogram) {
  return static_cast<uint64_t>(std::max<int64_t>(histogram.Sum(), 0));
}

void SetDuration(uint64_t count, uint64_t ns, inference::StatisticDuration* out) {
  out->set_count(count);
  out->set_ns(ns);
}

}  // namespace

absl::string_view FailureReasonName(FailureReason reason) {
  switch (reason) {
    case FailureReason::kRejected:
      return "REJECTED";
    case FailureReason::kCanceled:
      return "CANCELED";
    case FailureReason::kBackend:
      return "BACKEND";
    case FailureReason::kOther:
      break;
  }
  return "OTHER";
}

FailureReason ClassifyFailure(const absl::Status& status, bool dispatched) {
  if (dispatched) return FailureReason::kBackend;
  switch (status.code()) {
    case absl::StatusCode::kUnavailable:
      return FailureReason::kRejected;
    case absl::StatusCode::kCancelled:
    case absl::StatusCode::kDeadlineExceeded:
      return FailureReason::kCanceled;
    default:
      return FailureReason::kOther;
  }
}

ModelStats::ModelStats(std::string name, std::string version, int64_t max_batch_size,
                       ModelSeries series)
    : name_(std::move(name)),
      version_(std::move(version)),
      series_(series),
      max_tracked_batch_size_(std::max<int64_t>(max_batch_size, 1)),
      batch_sizes_(kBatchSizeCells * (max_tracked_batch_size_ + 1)) {}

void ModelStats::RecordCompletion(const InferenceRequest& request, const absl::Status& status,
                                  absl::Time start, absl::Time end) {
  if (status.ok()) {
    RecordSuccess(request, start, end);
    return;
  }
  RecordFailure(ClassifyFailure(status, request.times.dispatch != absl::InfinitePast()), start,
                end);
}

void ModelStats::RecordSuccess(const InferenceRequest& request, absl::Time start, absl::Time end) {
  const PhaseTimes& times = request.times;
  const uint64_t request_ns = Nanos(start, end);
  const uint64_t queue_ns = Nanos(times.arrival, times.dispatch);
  const uint64_t input_ns = Nanos(times.compute_input_start, times.compute_input_end);
  const uint64_t infer_ns = Nanos(times.compute_infer_start, times.compute_infer_end);
  const uint64_t output_ns = Nanos(times.compute_output_start, times.compute_output_end);
  // One shard lookup for every add below (a thread-local read is not free in PIC code).
  const size_t shard = metrics_internal::ThisThreadShard();
  series_.inference_count->Increment(
      static_cast<uint64_t>(std::max<int64_t>(request.batch_rows, 0)), shard);
  series_.request_duration_ns->Observe(static_cast<int64_t>(request_ns), shard);
  series_.queue_duration_ns->Observe(static_cast<int64_t>(queue_ns), shard);
  series_.compute_input_duration_ns->Observe(static_cast<int64_t>(input_ns), shard);
  series_.compute_infer_duration_ns->Observe(static_cast<int64_t>(infer_ns), shard);
  series_.compute_output_duration_ns->Observe(static_cast<int64_t>(output_ns), shard);
  MarkLastInference(end);
}

void ModelStats::RecordFailure(FailureReason reason, absl::Time start, absl::Time end) {
  series_.failure[static_cast<int>(reason)]->Increment();
  failure_ns_.fetch_add(Nanos(start, end), kRelaxed);
  MarkLastInference(end);
}

void ModelStats::MarkLastInference(absl::Time end) {
  // A plain store, and only when the millisecond changed: completions racing here are within
  // microseconds of each other, and a line that every completion wrote would bounce between the
  // instances' cores.
  const int64_t end_ms = absl::ToUnixMillis(end);
  if (last_inference_ms_.load(kRelaxed) != end_ms) last_inference_ms_.store(end_ms, kRelaxed);
}

void ModelStats::RecordExecution(absl::Span<InferenceRequest* const> batch) {
  int64_t rows = 0;
  for (const InferenceRequest* request : batch) rows += request->batch_rows;
  const size_t shard = metrics_internal::ThisThreadShard();
  series_.batch_size_rows->Observe(rows, shard);
  // Every request of a batch carries the batch's own compute times and padding.
  const InferenceRequest& first = *batch.front();
  if (series_.padding_ratio_permille != nullptr && first.executed_real_elements > 0) {
    series_.padding_ratio_permille->Observe(
        (first.executed_padded_elements - first.executed_real_elements) * 1000 /
            first.executed_real_elements,
        shard);
  }
  const PhaseTimes& times = first.times;
  const size_t base =
      kBatchSizeCells * static_cast<size_t>(std::clamp<int64_t>(rows, 1, max_tracked_batch_size_));
  const ShardedCells::Shard cells = batch_sizes_.Local(shard);
  cells.Add(base, 1);
  cells.Add(base + 1, Nanos(times.compute_input_start, times.compute_input_end));
  cells.Add(base + 2, Nanos(times.compute_infer_start, times.compute_infer_end));
  cells.Add(base + 3, Nanos(times.compute_output_start, times.compute_output_end));
}

void ModelStats::Fill(inference::ModelStatistics* out) const {
  out->set_name(name_);
  out->set_version(version_);
  out->set_last_inference(static_cast<uint64_t>(last_inference_ms_.load(kRelaxed)));
  out->set_inference_count(series_.inference_count->Value());
  out->set_execution_count(series_.batch_size_rows->Count());
  // Every phase histogram counts each successful request once; the request one is the reference.
  const uint64_t successes = series_.request_duration_ns->Count();
  uint64_t failures = 0;
  for (const Counter* counter : series_.failure) failures += counter->Value();
  inference::InferStatistics* stats = out->mutable_inference_stats();
  SetDuration(successes, TotalNs(*series_.request_duration_ns), stats->mutable_success());
  SetDuration(failures, failure_ns_.load(kRelaxed), stats->mutable_fail());
  SetDuration(successes, TotalNs(*series_.queue_duration_ns), stats->mutable_queue());
  SetDuration(successes, TotalNs(*series_.compute_input_duration_ns),
              stats->mutable_compute_input());
  SetDuration(successes, TotalNs(*series_.compute_infer_duration_ns),
              stats->mutable_compute_infer());
  SetDuration(successes, TotalNs(*series_.compute_output_duration_ns),
              stats->mutable_compute_output());
  for (int64_t size = 1; size <= max_tracked_batch_size_; ++size) {
    const size_t base = kBatchSizeCells * static_cast<size_t>(size);
    const uint64_t count = batch_sizes_.Total(base);
    if (count == 0) continue;
    inference::InferBatchStatistics* batch = out->add_batch_stats();
    batch->set_batch_size(static_cast<uint64_t>(size));
    SetDuration(count, batch_sizes_.Total(base + 1), batch->mutable_compute_input());
    SetDuration(count, batch_sizes_.Total(base + 2), batch->mutable_compute_infer());
    SetDuration(count, batch_sizes_.Total(base + 3), batch->mutable_compute_output());
  }
}

}  // namespace speech
