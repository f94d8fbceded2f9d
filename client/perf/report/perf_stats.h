// Client-side statistics of the performance analyzer: the timings of one measurement window,
// their percentiles and averages, and Triton perf_analyzer's rule for when consecutive windows
// agree ("stable"). Pure functions over plain values; no threads, no clocks.
#ifndef SPEECH_CLIENT_PERF_REPORT_PERF_STATS_H_
#define SPEECH_CLIENT_PERF_REPORT_PERF_STATS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"

namespace speech {

// What the client saw during one measurement window: every request that completed inside it.
// A plain value type; not synchronised.
struct ClientWindow {
  // Wall time the window lasted. Throughput is counted over it.
  absl::Duration duration = absl::ZeroDuration();
  // Rows per request (the batch dimension), so that inferences = requests * batch_size.
  int64_t batch_size = 1;
  // End-to-end latency of each successful request, send and receive included, in completion
  // order (unsorted).
  std::vector<absl::Duration> latencies;
  // Totals over the successful requests: serialising requests and parsing responses.
  absl::Duration total_send = absl::ZeroDuration();
  absl::Duration total_recv = absl::ZeroDuration();
  // Requests that failed, and the message of the first failure (empty when none failed).
  int64_t error_count = 0;
  std::string first_error;

  int64_t success_count() const { return static_cast<int64_t>(latencies.size()); }

  // Appends `other`'s requests and adds its duration: the merged window covers both.
  // REQUIRES: both have the same batch_size.
  void Merge(const ClientWindow& other);
};

// The summary of a window; times are averages or percentiles over successful requests only.
struct ClientSummary {
  int64_t success_count = 0;
  int64_t error_count = 0;
  double error_fraction = 0;         // errors / (successes + errors); 0 when nothing completed
  double inferences_per_second = 0;  // successes * batch_size / duration; errors never count
  double requests_per_second = 0;
  absl::Duration p50 = absl::ZeroDuration();
  absl::Duration p90 = absl::ZeroDuration();
  absl::Duration p95 = absl::ZeroDuration();
  absl::Duration p99 = absl::ZeroDuration();
  absl::Duration average = absl::ZeroDuration();
  absl::Duration average_send = absl::ZeroDuration();
  absl::Duration average_recv = absl::ZeroDuration();
};

// The `percentile` (in [0, 100]) of `sorted`, by the nearest-rank rule: the smallest value with
// at least `percentile`% of the values at or below it. Zero for an empty span.
// REQUIRES: `sorted` is sorted ascending.
absl::Duration Percentile(absl::Span<const absl::Duration> sorted, double percentile);

// Summarises `window`. A window of zero duration has zero throughput.
ClientSummary Summarize(const ClientWindow& window);

// Which latency the stability rule compares: the average (Triton's default) or a percentile.
struct StabilityCriterion {
  // Windows agree when max/min of each compared quantity is at most 1 + percentage/100.
  double stability_percentage = 10;
  // How many consecutive windows must agree. Must be at least 1.
  int window_count = 3;
  // Compare this latency percentile (for example 99) instead of the average latency.
  std::optional<double> latency_percentile;
};

// The latency the criterion compares for `summary`.
absl::Duration StabilityLatency(const ClientSummary& summary, const StabilityCriterion& criterion);

// True when the last `criterion.window_count` summaries agree within the stability percentage in
// both throughput and latency (Triton perf_analyzer's rule). False with fewer summaries, or when
// any of them has no successful request.
bool IsStable(absl::Span<const ClientSummary> summaries, const StabilityCriterion& criterion);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_REPORT_PERF_STATS_H_
