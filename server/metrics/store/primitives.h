// Lock-free metric primitives: a counter and a histogram on relaxed atomics. The request path
// only ever calls Increment and Observe on objects created at load time; no lock, no lookup.
// Both are sharded: each thread adds to one of kMetricShards copies, each on cache lines of its
// own, so that two instances of a model (or two completion threads) recording at once do not
// pass one line back and forth; readers (scrapes, ModelStatistics) add the shards up.
#ifndef SPEECH_SERVER_METRICS_STORE_PRIMITIVES_H_
#define SPEECH_SERVER_METRICS_STORE_PRIMITIVES_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"

namespace speech {

// Copies per counter or histogram. Threads take shards in turn, so up to this many recording
// threads never share a line.
inline constexpr size_t kMetricShards = 8;

namespace metrics_internal {

// The shard for the next thread that asks, in turn.
size_t NextShard();

// This thread's shard, in [0, kMetricShards): assigned on a thread's first call, then kept.
inline size_t ThisThreadShard() {
  static thread_local const size_t shard = NextShard();
  return shard;
}

// One cache line of relaxed 64-bit cells.
inline constexpr size_t kCellsPerLine = 8;
struct alignas(64) CacheLine {
  std::atomic<uint64_t> cells[kCellsPerLine] = {};
};

}  // namespace metrics_internal

// A fixed number of relaxed 64-bit counts, kept once per shard, each shard on lines of its own:
// threads add to their own shard, readers add the shards up. Thread-safe and lock-free.
class ShardedCells {
 public:
  // One thread's copy of the cells.
  class Shard {
   public:
    void Add(size_t index, uint64_t delta) const {
      lines_[index / metrics_internal::kCellsPerLine]
          .cells[index % metrics_internal::kCellsPerLine]
          .fetch_add(delta, std::memory_order_relaxed);
    }

   private:
    friend class ShardedCells;
    explicit Shard(metrics_internal::CacheLine* lines) : lines_(lines) {}
    metrics_internal::CacheLine* lines_;
  };

  // `size` cells, all zero.
  explicit ShardedCells(size_t size);
  ShardedCells(const ShardedCells&) = delete;
  ShardedCells& operator=(const ShardedCells&) = delete;

  // The calling thread's shard (look it up once for several adds).
  Shard Local(size_t shard = metrics_internal::ThisThreadShard()) const {
    return Shard(&lines_[shard * lines_per_shard_]);
  }
  // Cell `index` summed over every shard.
  uint64_t Total(size_t index) const;
  size_t size() const { return size_; }

 private:
  // Constant after construction.
  const size_t size_;
  const size_t lines_per_shard_;
  const std::unique_ptr<metrics_internal::CacheLine[]> lines_;  // shard-major
};

// A monotonic count. Thread-safe and lock-free: Increment is one relaxed fetch_add on this
// thread's shard, so a reader may see increments made by other threads a little late, but never
// loses one.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // `shard` defaults to this thread's; a caller adding to several metrics looks it up once.
  void Increment(uint64_t delta = 1, size_t shard = metrics_internal::ThisThreadShard()) {
    shards_[shard].cells[0].fetch_add(delta, std::memory_order_relaxed);
  }
  uint64_t Value() const;

 private:
  metrics_internal::CacheLine shards_[kMetricShards];  // cell 0 of each line
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
// fetch_adds on this thread's shard after a binary search over the bounds. A snapshot taken
// during concurrent Observe calls may see an observation's bucket and not yet its sum, or the
// reverse.
class Histogram {
 public:
  explicit Histogram(std::shared_ptr<const HistogramBuckets> buckets);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // As Counter::Increment, `shard` defaults to this thread's.
  void Observe(int64_t value, size_t shard_index = metrics_internal::ThisThreadShard()) {
    const ShardedCells::Shard shard = cells_.Local(shard_index);
    shard.Add(buckets_->IndexOf(value), 1);
    // The sum wraps as uint64_t; read back as int64_t it is the signed sum.
    shard.Add(sum_cell_, static_cast<uint64_t>(value));
  }

  HistogramSnapshot Snapshot() const;
  // The snapshot's count and sum alone, without building the bucket vector (for counters that
  // the exposition derives from a histogram).
  uint64_t Count() const;
  int64_t Sum() const;
  const HistogramBuckets& buckets() const { return *buckets_; }

 private:
  // Constant after construction.
  const std::shared_ptr<const HistogramBuckets> buckets_;
  const size_t sum_cell_;  // after one cell per bucket, the last of which is +Inf

  ShardedCells cells_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_METRICS_STORE_PRIMITIVES_H_
