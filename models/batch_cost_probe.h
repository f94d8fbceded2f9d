// Measures what batches cost one instance of a model with padded inputs (variable-length
// batching): a grid of row counts and lengths, run at warm-up, from which the batcher's cost
// model starts. The runs also warm the model up on the shapes the batcher will form.
#ifndef SPEECH_MODELS_BATCH_COST_PROBE_H_
#define SPEECH_MODELS_BATCH_COST_PROBE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "batcher/clock.h"
#include "batcher/executor.h"
#include "batcher/policy/batch_cost_model.h"
#include "proto/model_config.pb.h"

namespace speech {

struct CostProbeOptions {
  // Lengths on the grid: this many, geometric from the shortest to the longest (see
  // CostProbeLengths).
  int length_count = 4;
  // A grid point whose predicted cost (from those measured) exceeds this is not run: its cost is
  // extrapolated, so that warming a large model up on long inputs stays bounded.
  absl::Duration max_measured_cost = absl::Milliseconds(500);
};

// The grid's row counts: 1, 2, 4, ... up to and always including max_batch_size (at most 6).
std::vector<int64_t> CostProbeRows(int64_t max_batch_size);

// The grid's lengths: the longest is the padded inputs' largest constraints.max_length (1024
// when none is set), the shortest the largest of their min_length, 1 and a 64th of the longest.
std::vector<int64_t> CostProbeLengths(const inference::ModelConfig& config, int count);

// Runs the grid on `instance` (each point once to warm up, then once in each of three rounds over
// the grid, keeping the fastest) and returns one sample per point, in real time, no point above
// what a point of more rows or a longer length measured. Points predicted too expensive are
// extrapolated from the measured ones (proportional in rows and in length). Empty when the model has no padded
// input. Fails with the instance's error when a run fails.
absl::StatusOr<std::vector<CostSample>> ProbeBatchCosts(
    BatchExecutor& instance, const inference::ModelConfig& config,
    const CostProbeOptions& options = {}, const Clock* clock = RealClock::Get());

}  // namespace speech

#endif  // SPEECH_MODELS_BATCH_COST_PROBE_H_
