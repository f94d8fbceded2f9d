// What a batch costs one instance of a model: the time to run `rows` rows, each padded to
// `length` elements, estimated from a grid of measurements (made at warm-up) and refined from the
// executions the batcher observes. The batch policy asks it which batch gives the most throughput.
#ifndef SPEECH_BATCHER_POLICY_BATCH_COST_MODEL_H_
#define SPEECH_BATCHER_POLICY_BATCH_COST_MODEL_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace speech {

// One measurement: a batch of `rows` rows of `length` elements each took `cost`.
struct CostSample {
  int64_t rows = 1;
  int64_t length = 1;
  absl::Duration cost = absl::ZeroDuration();
};

// Thread-compatible (a value type): the batcher's scheduler thread owns one and is the only one to
// touch it.
class BatchCostModel {
 public:
  struct Options {
    // How far one observed execution moves the estimate where it ran toward what it measured, in
    // (0, 1], by moving the grid points that estimate is made of (each by its weight in it).
    // Each point's estimate stays within half and twice what was measured
    // at warm-up, so that observations (made under whatever else the machine runs) can correct
    // the table but never turn it upside down: a few slow batches must not switch batching off
    // for good, since a batch size no longer formed is no longer observed.
    double refinement_weight = 0.1;
    // One observation counts at most as max_ratio times, or 1 / max_ratio of, the estimate
    // (>= 1). A shape's first execution costs more (oneDNN builds its kernels then: 1.1 to 1.9x
    // for the tiny wav2vec2), and so does a batch preempted by other work; those outliers must
    // not pull a point up for long, while a steady difference still moves it all the way.
    double max_ratio = 1.5;
    // How far one observation moves the factor that scales every estimate (the machine as a
    // whole got faster), in [0, 1]. The factor never rises above 1: were it to follow a slower
    // machine, the points no execution observes (batch sizes not formed lately) would rise with
    // it, and a batch size that looks dearer than it is is never formed again, so never
    // corrected. A point that looks cheaper than it is gets formed, observed and corrected.
    double global_weight = 0.02;
  };

  // Needs a full grid: for every row count and every length present in `samples`, exactly one
  // sample of that pair, with rows and length >= 1 and a positive cost. INVALID_ARGUMENT naming
  // the sample otherwise.
  static absl::StatusOr<BatchCostModel> Create(std::vector<CostSample> samples, Options options);
  static absl::StatusOr<BatchCostModel> Create(std::vector<CostSample> samples) {
    return Create(std::move(samples), Options());
  }

  // The estimated cost of `rows` rows of `length` elements: bilinear between the grid's points;
  // beyond the largest row count or length, proportional to the excess; below the smallest
  // length, the smallest length's cost. REQUIRES: rows >= 1.
  absl::Duration Estimate(int64_t rows, int64_t length) const;

  // Refines the estimates with a measured cost: the factor that scales them all, and the grid
  // points that Estimate(rows, length) interpolates between, each by its weight there and
  // within its bounds. One observation counts at most as Options::max_ratio times the estimate
  // (or its inverse).
  // Non-positive costs are ignored.
  void Observe(int64_t rows, int64_t length, absl::Duration cost);

  // The current estimate at every grid point (rows ascending, then lengths ascending), as
  // Estimate gives it there: what the warm-up measured, refined by what was observed since.
  std::vector<CostSample> Refined() const;
  // How many executions Observe has taken in.
  int64_t observations() const { return observations_; }

  const std::vector<int64_t>& row_counts() const { return rows_; }
  const std::vector<int64_t>& lengths() const { return lengths_; }

 private:
  BatchCostModel(std::vector<int64_t> rows, std::vector<int64_t> lengths,
                 std::vector<double> seconds, Options options)
      : rows_(std::move(rows)),
        lengths_(std::move(lengths)),
        measured_(seconds),
        seconds_(std::move(seconds)),
        options_(options) {}

  // The grid points (indices into seconds_) an estimate is made of, at most four, each with its
  // coefficient: Estimate = scale_ * sum(coefficient * seconds_[index]).
  struct Corners {
    size_t index[4] = {0, 0, 0, 0};
    double coefficient[4] = {0, 0, 0, 0};
    int count = 0;
  };
  Corners CornersOf(int64_t rows, int64_t length) const;
  // The estimate those corners make, in seconds (scale_ included).
  double Seconds(const Corners& corners) const;

  std::vector<int64_t> rows_;     // ascending
  std::vector<int64_t> lengths_;  // ascending
  std::vector<double> measured_;  // as the samples gave them
  std::vector<double> seconds_;   // rows_.size() x lengths_.size(), row-major: refined
  double scale_ = 1;              // applies to every estimate
  int64_t observations_ = 0;
  Options options_;
};

}  // namespace speech

#endif  // SPEECH_BATCHER_POLICY_BATCH_COST_MODEL_H_
