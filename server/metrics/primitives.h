// Lock-free metric primitives: a counter and a histogram on relaxed atomics. The request path
// only ever calls Increment and Observe on objects created at load time; no lock, no lookup.
#ifndef SPEECH_SERVER_METRICS_PRIMITIVES_H_
#define SPEECH_SERVER_METRICS_PRIMITIVES_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace speech {

// A monotonic count. Thread-safe and lock-free: Increment is one relaxed fetch_add, so a
// reader may see increments made by other threads a little late, but never loses one.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  void Increment(uint64_t delta = 1) { value_.fetch_add(delta, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// The bucket layout of a histogram: strictly increasing upper bounds in integer base units
// (nanoseconds for durations, rows for batch sizes), plus the divisor that turns a base unit
// into the exposed unit (1e9 for seconds, 1 for rows). Immutable; shared by the histograms of
// one family.
class HistogramBuckets {
 public:
  // Fails with INVALID_ARGUMENT when `upper_bounds` is empty or not strictly increasing, or
  // `divisor` is not positive. The +Inf bucket is implicit.
  static absl::StatusOr<std::shared_ptr<const HistogramBuckets>> Create(
      std::vector<int64_t> upper_bounds, double divisor);

  // Bucket index of `value`: the first bound >= value (Prometheus' "le"), or
  // upper_bounds().size() (the +Inf bucket) when it exceeds every bound.
  size_t IndexOf(int64_t value) const;

  const std::vector<int64_t>& upper_bounds() const { return upper_bounds_; }
  double divisor() const { return divisor_; }

 private:
  HistogramBuckets(std::vector<int64_t> upper_bounds, double divisor)
      : upper_bounds_(std::move(upper_bounds)), divisor_(divisor) {}

  const std::vector<int64_t> upper_bounds_;
  const double divisor_;
};

// What a histogram held at one moment. Counts are per bucket (not cumulative), the last one is
// the +Inf bucket; count is their sum, so that "_count" always equals the "+Inf" bucket.
struct HistogramSnapshot {
  std::vector<uint64_t> bucket_counts;
  int64_t sum = 0;  // base units
  uint64_t count = 0;
};

// Counts observations per bucket and their sum. Thread-safe and lock-free: Observe is two relaxed
// fetch_adds after a binary search over the bounds. A snapshot taken during concurrent Observe
// calls may see an observation's bucket and not yet its sum, or the reverse.
class Histogram {
 public:
  explicit Histogram(std::shared_ptr<const HistogramBuckets> buckets);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(int64_t value) {
    counts_[buckets_->IndexOf(value)].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  HistogramSnapshot Snapshot() const;
  const HistogramBuckets& buckets() const { return *buckets_; }

 private:
  // Constant after construction.
  const std::shared_ptr<const HistogramBuckets> buckets_;
  const std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // upper_bounds().size() + 1

  std::atomic<int64_t> sum_{0};
};

}  // namespace speech

#endif  // SPEECH_SERVER_METRICS_PRIMITIVES_H_
