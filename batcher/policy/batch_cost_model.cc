#include "batcher/policy/batch_cost_model.h"

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

}  // namespace

absl::StatusOr<BatchCostModel> BatchCostModel::Create(std::vector<CostSample> samples,
                                                      Options options) {
  if (samples.empty()) return absl::InvalidArgumentError("batch cost model: no samples");
  if (!(options.refinement_weight > 0 && options.refinement_weight <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch cost model: refinement_weight must be in (0, 1]; was ", options.refinement_weight));
  }
  if (!(options.max_ratio >= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch cost model: max_ratio must be at least 1; was ", options.max_ratio));
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

BatchCostModel::Corners BatchCostModel::CornersOf(int64_t rows, int64_t length) const {
  // Along one axis: the grid indices that `x` is made of and their coefficients. Between two
  // points, linear; below the first, the first (proportional to x when `proportional_below`);
  // beyond the last, proportional to the excess.
  struct Axis {
    size_t index[2];
    double coefficient[2];
    int count;
  };
  auto along = [](const std::vector<int64_t>& values, int64_t x, bool proportional_below) {
    Axis axis{{0, 0}, {1, 0}, 1};
    if (x <= values.front()) {
      axis.coefficient[0] =
          proportional_below ? static_cast<double>(x) / static_cast<double>(values.front()) : 1;
    } else if (x >= values.back()) {
      axis.index[0] = values.size() - 1;
      axis.coefficient[0] = static_cast<double>(x) / static_cast<double>(values.back());
    } else {
      const size_t i = Bracket(values, x);
      const double t =
          static_cast<double>(x - values[i]) / static_cast<double>(values[i + 1] - values[i]);
      axis = {{i, i + 1}, {1 - t, t}, 2};
    }
    return axis;
  };
  const Axis r = along(rows_, rows, /*proportional_below=*/true);
  const Axis l = along(lengths_, length, /*proportional_below=*/false);
  Corners corners;
  for (int i = 0; i < r.count; ++i) {
    for (int j = 0; j < l.count; ++j) {
      const double coefficient = r.coefficient[i] * l.coefficient[j];
      if (coefficient <= 0) continue;
      corners.index[corners.count] = r.index[i] * lengths_.size() + l.index[j];
      corners.coefficient[corners.count] = coefficient;
      ++corners.count;
    }
  }
  return corners;
}

double BatchCostModel::Seconds(const Corners& corners) const {
  double seconds = 0;
  for (int k = 0; k < corners.count; ++k) {
    seconds += corners.coefficient[k] * seconds_[corners.index[k]];
  }
  return seconds * scale_;
}

absl::Duration BatchCostModel::Estimate(int64_t rows, int64_t length) const {
  return absl::Seconds(Seconds(CornersOf(rows, length)));
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
  const Corners corners = CornersOf(rows, length);
  const double estimate = Seconds(corners);
  if (!(estimate > 0)) return;
  ++observations_;
  const double ratio = std::clamp(absl::ToDoubleSeconds(cost) / estimate,
                                  1 / options_.max_ratio, options_.max_ratio);
  // Each grid point the estimate is made of moves by its share w of the estimate's weights,
  // scaled by 1 / sum(w^2): were the points equal, the estimate would move refinement_weight of
  // the way to the measurement, as it does on a grid point. Correcting only the nearest point
  // let executions on either side of it pull it back and forth while the farther point stayed
  // wrong. With w = c / sum(c), that scaled share is c * sum(c) / sum(c^2).
  double total = 0;
  double squares = 0;
  for (int k = 0; k < corners.count; ++k) {
    total += corners.coefficient[k];
    squares += corners.coefficient[k] * corners.coefficient[k];
  }
  for (int k = 0; k < corners.count; ++k) {
    const size_t i = corners.index[k];
    const double share = corners.coefficient[k] * total / squares;
    const double step = std::max(1 + options_.refinement_weight * share * (ratio - 1), 0.0);
    seconds_[i] = std::clamp(seconds_[i] * step, measured_[i] / 2, measured_[i] * 2);
  }
  scale_ = std::min(1.0, scale_ * ((1 - options_.global_weight) + options_.global_weight * ratio));
}

}  // namespace speech
