#include "server/metrics/store/primitives.h"

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

namespace metrics_internal {

size_t NextShard() {
  static std::atomic<size_t> next{0};
  return next.fetch_add(1, std::memory_order_relaxed) % kMetricShards;
}

}  // namespace metrics_internal

uint64_t Counter::Value() const {
  uint64_t total = 0;
  for (const metrics_internal::CacheLine& shard : shards_) {
    total += shard.cells[0].load(std::memory_order_relaxed);
  }
  return total;
}

ShardedCells::ShardedCells(size_t size)
    : size_(size),
      lines_per_shard_(std::max<size_t>(
          (size + metrics_internal::kCellsPerLine - 1) / metrics_internal::kCellsPerLine, 1)),
      lines_(new metrics_internal::CacheLine[kMetricShards * lines_per_shard_]) {}

uint64_t ShardedCells::Total(size_t index) const {
  const metrics_internal::CacheLine* line = &lines_[index / metrics_internal::kCellsPerLine];
  uint64_t total = 0;
  for (size_t shard = 0; shard < kMetricShards; ++shard, line += lines_per_shard_) {
    total += line->cells[index % metrics_internal::kCellsPerLine].load(std::memory_order_relaxed);
  }
  return total;
}

Histogram::Histogram(std::shared_ptr<const HistogramBuckets> buckets)
    : buckets_(std::move(buckets)),
      sum_cell_(buckets_->upper_bounds().size() + 1),
      cells_(sum_cell_ + 1) {}

HistogramSnapshot Histogram::Snapshot() const {
  HistogramSnapshot snapshot;
  snapshot.bucket_counts.reserve(sum_cell_);
  for (size_t i = 0; i < sum_cell_; ++i) {
    snapshot.bucket_counts.push_back(cells_.Total(i));
    snapshot.count += snapshot.bucket_counts.back();
  }
  snapshot.sum = static_cast<int64_t>(cells_.Total(sum_cell_));
  return snapshot;
}

uint64_t Histogram::Count() const {
  uint64_t count = 0;
  for (size_t i = 0; i < sum_cell_; ++i) count += cells_.Total(i);
  return count;
}

int64_t Histogram::Sum() const { return static_cast<int64_t>(cells_.Total(sum_cell_)); }

}  // namespace speech
