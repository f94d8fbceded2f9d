#include "batcher/batch_cost_model.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"

namespace speech {
namespace {

// The index i with values[i] <= x < values[i + 1], clamped to [0, size - 2] (size >= 2), or 0
// for a single value.
size_t Bracket(const std::vector<int64_t>& values, int64_t x) {
  if (values.size() < 2) return 0;
  const auto upper = std::upper_bound(values.begin(), values.end(), x);
  const size_t index =
      upper == values.begin() ? 0 : static_cast<size_t>(upper - values.begin()) - 1;
  return std::min(index, values.size() - 2);
}

// The index of the value nearest x in log scale.
size_t Nearest(const std::vector<int64_t>& values, int64_t x) {
  size_t best = 0;
  double best_distance = INFINITY;
  for (size_t i = 0; i < values.size(); ++i) {
    const double distance = std::abs(std::log(static_cast<double>(values[i])) -
                                     std::log(static_cast<double>(std::max<int64_t>(x, 1))));
    if (distance < best_distance) {
      best = i;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace

absl::StatusOr<BatchCostModel> BatchCostModel::Create(std::vector<CostSample> samples,
                                                      Options options) {
  if (samples.empty()) return absl::InvalidArgumentError("batch cost model: no samples");
  if (!(options.refinement_weight > 0 && options.refinement_weight <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch cost model: refinement_weight must be in (0, 1]; was ", options.refinement_weight));
  }
  if (!(options.global_weight >= 0 && options.global_weight <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch cost model: global_weight must be in [0, 1]; was ", options.global_weight));
  }
  std::map<std::pair<int64_t, int64_t>, double> grid;
  std::vector<int64_t> rows;
  std::vector<int64_t> lengths;
  for (const CostSample& sample : samples) {
    const std::string what = absl::StrCat("batch cost model: sample of ", sample.rows,
                                          " rows of length ", sample.length);
    if (sample.rows < 1 || sample.length < 1 || sample.cost <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " needs rows and length >= 1 and a positive cost; cost was ",
                       absl::FormatDuration(sample.cost)));
    }
    if (!grid.emplace(std::make_pair(sample.rows, sample.length),
                      absl::ToDoubleSeconds(sample.cost))
             .second) {
      return absl::InvalidArgumentError(absl::StrCat(what, " is given twice"));
    }
    rows.push_back(sample.rows);
    lengths.push_back(sample.length);
  }
  for (std::vector<int64_t>* axis : {&rows, &lengths}) {
    std::sort(axis->begin(), axis->end());
    axis->erase(std::unique(axis->begin(), axis->end()), axis->end());
  }
  std::vector<double> seconds;
  for (int64_t r : rows) {
    for (int64_t l : lengths) {
      auto it = grid.find({r, l});
      if (it == grid.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat("batch cost model: the grid has no sample of ", r, " rows of length ", l));
      }
      seconds.push_back(it->second);
    }
  }
  return BatchCostModel(std::move(rows), std::move(lengths), std::move(seconds), options);
}

double BatchCostModel::AtRowIndex(size_t r, int64_t length) const {
  if (length <= lengths_.front()) return At(r, 0);
  if (length >= lengths_.back()) {
    return At(r, lengths_.size() - 1) * static_cast<double>(length) / lengths_.back();
  }
  const size_t l = Bracket(lengths_, length);
  const double t = static_cast<double>(length - lengths_[l]) / (lengths_[l + 1] - lengths_[l]);
  return At(r, l) + t * (At(r, l + 1) - At(r, l));
}

absl::Duration BatchCostModel::Estimate(int64_t rows, int64_t length) const {
  double seconds;
  if (rows <= rows_.front()) {
    seconds = AtRowIndex(0, length) * static_cast<double>(rows) / rows_.front();
  } else if (rows >= rows_.back()) {
    seconds = AtRowIndex(rows_.size() - 1, length) * static_cast<double>(rows) / rows_.back();
  } else {
    const size_t r = Bracket(rows_, rows);
    const double t = static_cast<double>(rows - rows_[r]) / (rows_[r + 1] - rows_[r]);
    seconds = AtRowIndex(r, length) + t * (AtRowIndex(r + 1, length) - AtRowIndex(r, length));
  }
  return absl::Seconds(seconds * scale_);
}

std::vector<CostSample> BatchCostModel::Refined() const {
  std::vector<CostSample> samples;
  for (size_t r = 0; r < rows_.size(); ++r) {
    for (size_t l = 0; l < lengths_.size(); ++l) {
      samples.push_back({rows_[r], lengths_[l], Estimate(rows_[r], lengths_[l])});
    }
  }
  return samples;
}

void BatchCostModel::Observe(int64_t rows, int64_t length, absl::Duration cost) {
  if (cost <= absl::ZeroDuration() || rows < 1) return;
  const double estimate = absl::ToDoubleSeconds(Estimate(rows, length));
  if (!(estimate > 0)) return;
  ++observations_;
  const double ratio = std::clamp(absl::ToDoubleSeconds(cost) / estimate, 0.25, 4.0);
  const double w = options_.refinement_weight;
  const size_t k = Nearest(rows_, rows) * lengths_.size() + Nearest(lengths_, length);
  seconds_[k] = std::clamp(seconds_[k] * ((1 - w) + w * ratio), measured_[k] / 2, measured_[k] * 2);
  scale_ *= (1 - options_.global_weight) + options_.global_weight * ratio;
}

}  // namespace speech
