#include "client/perf/report/perf_stats.h"

#include <algorithm>
#include <cmath>

#include "proto/check.h"

namespace speech {

void ClientWindow::Merge(const ClientWindow& other) {
  SPEECH_CHECK(batch_size == other.batch_size, "merging windows of different batch sizes");
  duration += other.duration;
  latencies.insert(latencies.end(), other.latencies.begin(), other.latencies.end());
  total_send += other.total_send;
  total_recv += other.total_recv;
  error_count += other.error_count;
  if (first_error.empty()) first_error = other.first_error;
}

absl::Duration Percentile(absl::Span<const absl::Duration> sorted, double percentile) {
  if (sorted.empty()) return absl::ZeroDuration();
  const double clamped = std::clamp(percentile, 0.0, 100.0);
  // Nearest rank: ceil(p/100 * n), 1-based; rank 0 (p = 0) is the minimum.
  const auto rank = static_cast<size_t>(std::ceil(clamped / 100.0 * sorted.size()));
  return sorted[rank == 0 ? 0 : std::min(rank, sorted.size()) - 1];
}

ClientSummary Summarize(const ClientWindow& window) {
  ClientSummary summary;
  summary.success_count = window.success_count();
  summary.error_count = window.error_count;
  const int64_t completed = summary.success_count + summary.error_count;
  if (completed > 0) {
    summary.error_fraction = static_cast<double>(summary.error_count) / completed;
  }
  const double seconds = absl::ToDoubleSeconds(window.duration);
  if (seconds > 0) {
    summary.requests_per_second = summary.success_count / seconds;
    summary.inferences_per_second = summary.requests_per_second * window.batch_size;
  }
  if (summary.success_count == 0) return summary;
  std::vector<absl::Duration> sorted = window.latencies;
  std::sort(sorted.begin(), sorted.end());
  summary.p50 = Percentile(sorted, 50);
  summary.p90 = Percentile(sorted, 90);
  summary.p95 = Percentile(sorted, 95);
  summary.p99 = Percentile(sorted, 99);
  absl::Duration total = absl::ZeroDuration();
  for (absl::Duration latency : sorted) total += latency;
  summary.average = total / summary.success_count;
  summary.average_send = window.total_send / summary.success_count;
  summary.average_recv = window.total_recv / summary.success_count;
  return summary;
}

absl::Duration StabilityLatency(const ClientSummary& summary, const StabilityCriterion& criterion) {
  if (!criterion.latency_percentile.has_value()) return summary.average;
  const double p = *criterion.latency_percentile;
  if (p <= 50) return summary.p50;
  if (p <= 90) return summary.p90;
  if (p <= 95) return summary.p95;
  return summary.p99;
}

bool IsStable(absl::Span<const ClientSummary> summaries, const StabilityCriterion& criterion) {
  SPEECH_CHECK(criterion.window_count >= 1, "window_count must be positive");
  if (static_cast<int>(summaries.size()) < criterion.window_count) return false;
  const auto last = summaries.subspan(summaries.size() - criterion.window_count);
  double min_throughput = last[0].inferences_per_second;
  double max_throughput = min_throughput;
  absl::Duration min_latency = StabilityLatency(last[0], criterion);
  absl::Duration max_latency = min_latency;
  for (const ClientSummary& summary : last) {
    if (summary.success_count == 0) return false;
    min_throughput = std::min(min_throughput, summary.inferences_per_second);
    max_throughput = std::max(max_throughput, summary.inferences_per_second);
    const absl::Duration latency = StabilityLatency(summary, criterion);
    min_latency = std::min(min_latency, latency);
    max_latency = std::max(max_latency, latency);
  }
  const double limit = 1.0 + criterion.stability_percentage / 100.0;
  if (min_throughput <= 0 || min_latency <= absl::ZeroDuration()) return false;
  return max_throughput / min_throughput <= limit &&
         absl::FDivDuration(max_latency, min_latency) <= limit;
}

}  // namespace speech
