#include "server/metrics/primitives.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace speech {

absl::StatusOr<std::shared_ptr<const HistogramBuckets>> HistogramBuckets::Create(
    std::vector<int64_t> upper_bounds, double divisor) {
  if (upper_bounds.empty()) {
    return absl::InvalidArgumentError("a histogram needs at least one bucket bound");
  }
  for (size_t i = 1; i < upper_bounds.size(); ++i) {
    if (upper_bounds[i] <= upper_bounds[i - 1]) {
      return absl::InvalidArgumentError(
          absl::StrCat("histogram bounds must increase strictly; bound ", i, " is ",
                       upper_bounds[i], " after ", upper_bounds[i - 1]));
    }
  }
  if (!(divisor > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("histogram divisor must be positive; was ", divisor));
  }
  return std::shared_ptr<const HistogramBuckets>(
      new HistogramBuckets(std::move(upper_bounds), divisor));
}

size_t HistogramBuckets::IndexOf(int64_t value) const {
  return static_cast<size_t>(std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) -
                             upper_bounds_.begin());
}

Histogram::Histogram(std::shared_ptr<const HistogramBuckets> buckets)
    : buckets_(std::move(buckets)),
      counts_(new std::atomic<uint64_t>[buckets_->upper_bounds().size() + 1]) {
  for (size_t i = 0; i <= buckets_->upper_bounds().size(); ++i) {
    counts_[i].store(0, std::memory_order_relaxed);
  }
}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot snapshot;
  const size_t size = buckets_->upper_bounds().size() + 1;
  snapshot.bucket_counts.reserve(size);
  for (size_t i = 0; i < size; ++i) {
    const uint64_t count = counts_[i].load(std::memory_order_relaxed);
    snapshot.bucket_counts.push_back(count);
    snapshot.count += count;
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

}  // namespace speech
