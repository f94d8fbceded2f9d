#include "models/batch_cost_probe.h"

#include <algorithm>
#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "models/synthetic_request.h"

namespace speech {
namespace {

bool HasPaddedInput(const inference::ModelConfig& config) {
  for (const inference::ModelInput& input : config.input()) {
    if (input.has_ragged_padding()) return true;
  }
  return false;
}

// One run of `request` on `instance`, timed on `clock`.
absl::StatusOr<double> TimeRun(BatchExecutor& instance, InferenceRequest& request,
                               const Clock* clock) {
  InferenceRequest* const batch[] = {&request};
  const absl::Time start = clock->Now();
  absl::Status status = instance.Execute(batch);
  if (!status.ok()) return status;
  return std::max(absl::ToDoubleSeconds(clock->Now() - start), 1e-9);
}

// Noise (what else the machine runs) only ever adds time, and a batch never costs less with more
// rows or a longer length: so no point can truly cost more than any point above or beside it
// costs as measured. Lowers each point to the least of those.
void MonotoneEnvelope(std::vector<std::vector<double>>* seconds) {
  std::vector<std::vector<double>>& c = *seconds;
  for (size_t r = c.size(); r-- > 0;) {
    for (size_t l = c[r].size(); l-- > 0;) {
      if (r + 1 < c.size()) c[r][l] = std::min(c[r][l], c[r + 1][l]);
      if (l + 1 < c[r].size()) c[r][l] = std::min(c[r][l], c[r][l + 1]);
    }
  }
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
                                                        const CostProbeOptions& options,
                                                        const Clock* clock) {
  if (!HasPaddedInput(config) || config.max_batch_size() == 0) return std::vector<CostSample>();
  const std::vector<int64_t> rows = CostProbeRows(config.max_batch_size());
  const std::vector<int64_t> lengths = CostProbeLengths(config, options.length_count);
  // seconds[r][l]; measured row by row, shortest lengths first, so that every point has measured
  // neighbours below and to the left to predict it from. Each measured point runs once to warm up
  // and then once in each of three rounds, the fastest kept: rounds apart in time resist a burst
  // of other work better than runs back to back.
  std::vector<std::vector<double>> seconds(rows.size(), std::vector<double>(lengths.size(), 0));
  std::vector<std::vector<bool>> measured(rows.size(), std::vector<bool>(lengths.size(), false));
  // A point's cost from its measured neighbours: proportional in length and in rows.
  auto predict = [&](size_t r, size_t l) {
    double predicted = 0;
    if (l > 0) predicted = seconds[r][l - 1] * lengths[l] / lengths[l - 1];
    if (r > 0) predicted = std::max(predicted, seconds[r - 1][l] * rows[r] / rows[r - 1]);
    return predicted;
  };
  constexpr int kRounds = 3;
  for (int round = 0; round < kRounds; ++round) {
    for (size_t r = 0; r < rows.size(); ++r) {
      for (size_t l = 0; l < lengths.size(); ++l) {
        if (round == 0) {
          const double predicted = predict(r, l);
          seconds[r][l] = predicted;
          if (r + l > 0 && predicted > absl::ToDoubleSeconds(options.max_measured_cost)) continue;
          measured[r][l] = true;
          seconds[r][l] = INFINITY;
        } else if (!measured[r][l]) {
          continue;
        }
        std::unique_ptr<InferenceRequest> request = SyntheticRequest(config, rows[r], lengths[l]);
        absl::StatusOr<double> took = round == 0 ? TimeRun(instance, *request, clock) : 0.0;
        if (took.ok()) took = TimeRun(instance, *request, clock);  // round 0: after a warm-up
        if (!took.ok()) {
          return absl::Status(took.status().code(),
                              absl::StrCat("cost probe of ", rows[r], " rows of length ",
                                           lengths[l], " failed: ", took.status().message()));
        }
        seconds[r][l] = std::min(seconds[r][l], *took);
      }
    }
  }
  for (size_t r = 0; r < rows.size(); ++r) {  // the points not run, from the final measurements
    for (size_t l = 0; l < lengths.size(); ++l) {
      if (!measured[r][l]) seconds[r][l] = predict(r, l);
    }
  }
  MonotoneEnvelope(&seconds);
  std::vector<CostSample> samples;
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t l = 0; l < lengths.size(); ++l) {
      samples.push_back({rows[r], lengths[l], absl::Seconds(seconds[r][l])});
    }
  }
  return samples;
}

}  // namespace speech
