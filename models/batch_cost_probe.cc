#include "models/batch_cost_probe.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "models/synthetic_request.h"

namespace speech {
namespace {

bool HasPaddedInput(const inference::ModelConfig& config) {
  for (const inference::ModelInput& input : config.input()) {
    if (input.has_ragged_padding()) return true;
  }
  return false;
}

// The faster of two timed runs, after one to warm up.
absl::StatusOr<absl::Duration> TimeRuns(BatchExecutor& instance, InferenceRequest& request) {
  InferenceRequest* const batch[] = {&request};
  absl::Duration best = absl::InfiniteDuration();
  for (int run = 0; run < 3; ++run) {
    const absl::Time start = absl::Now();
    absl::Status status = instance.Execute(batch);
    const absl::Duration took = absl::Now() - start;
    if (!status.ok()) return status;
    if (run > 0) best = std::min(best, took);
  }
  return best;
}

}  // namespace

std::vector<int64_t> CostProbeRows(int64_t max_batch_size) {
  std::vector<int64_t> rows;
  for (int64_t r = 1; r < max_batch_size && rows.size() < 5; r *= 2) rows.push_back(r);
  rows.push_back(std::max<int64_t>(max_batch_size, 1));
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  return rows;
}

std::vector<int64_t> CostProbeLengths(const inference::ModelConfig& config, int count) {
  int64_t longest = 0;
  int64_t shortest = 1;
  for (const inference::ModelInput& input : config.input()) {
    if (!input.has_ragged_padding()) continue;
    longest = std::max(longest, input.constraints().max_length());
    shortest = std::max(shortest, input.constraints().min_length());
  }
  if (longest == 0) longest = 1024;
  shortest = std::min(longest, std::max(shortest, longest / 64));
  std::vector<int64_t> lengths;
  for (int k = 0; k < count; ++k) {
    const double t = count == 1 ? 1.0 : static_cast<double>(k) / (count - 1);
    lengths.push_back(std::llround(shortest * std::pow(static_cast<double>(longest) / shortest, t)));
  }
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  return lengths;
}

absl::StatusOr<std::vector<CostSample>> ProbeBatchCosts(BatchExecutor& instance,
                                                        const inference::ModelConfig& config,
                                                        const CostProbeOptions& options) {
  if (!HasPaddedInput(config) || config.max_batch_size() == 0) return std::vector<CostSample>();
  const std::vector<int64_t> rows = CostProbeRows(config.max_batch_size());
  const std::vector<int64_t> lengths = CostProbeLengths(config, options.length_count);
  // seconds[r][l]; measured row by row, shortest lengths first, so that every point has measured
  // neighbours below and to the left to predict it from.
  std::vector<std::vector<double>> seconds(rows.size(), std::vector<double>(lengths.size(), 0));
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t l = 0; l < lengths.size(); ++l) {
      double predicted = 0;
      if (l > 0) predicted = seconds[r][l - 1] * lengths[l] / lengths[l - 1];
      if (r > 0) predicted = std::max(predicted, seconds[r - 1][l] * rows[r] / rows[r - 1]);
      if (r + l > 0 && predicted > absl::ToDoubleSeconds(options.max_measured_cost)) {
        seconds[r][l] = predicted;
        continue;
      }
      std::unique_ptr<InferenceRequest> request = SyntheticRequest(config, rows[r], lengths[l]);
      absl::StatusOr<absl::Duration> took = TimeRuns(instance, *request);
      if (!took.ok()) {
        return absl::Status(took.status().code(),
                            absl::StrCat("cost probe of ", rows[r], " rows of length ", lengths[l],
                                         " failed: ", took.status().message()));
      }
      seconds[r][l] = std::max(absl::ToDoubleSeconds(*took), 1e-9);
    }
  }
  std::vector<CostSample> samples;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t l = 0; l < lengths.size(); ++l) {
      samples.push_back({rows[r], lengths[l], absl::Seconds(seconds[r][l])});
    }
  }
  return samples;
}

}  // namespace speech
