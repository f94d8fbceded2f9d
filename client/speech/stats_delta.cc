#include "client/speech/stats_delta.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace speech {
namespace {

using Key = std::pair<std::string, std::string>;  // name, version

// Mean of the moved part of a phase; `ok` turns false when it went backwards.
absl::Duration MeanDelta(const inference::StatisticDuration& before,
                         const inference::StatisticDuration& after, bool& ok) {
  if (after.count() < before.count() || after.ns() < before.ns()) {
    ok = false;
    return absl::ZeroDuration();
  }
  const uint64_t count = after.count() - before.count();
  if (count == 0) return absl::ZeroDuration();
  return absl::Nanoseconds(static_cast<double>(after.ns() - before.ns()) / count);
}

// The window's share of one model; false when nothing moved or a counter went backwards.
bool Diff(const inference::ModelStatistics& before, const inference::ModelStatistics& after,
          ModelPhaseTimes* out) {
  const inference::InferStatistics& b = before.inference_stats();
  const inference::InferStatistics& a = after.inference_stats();
  bool ok = a.success().count() >= b.success().count() && a.fail().count() >= b.fail().count() &&
            after.execution_count() >= before.execution_count();
  out->name = after.name();
  out->version = after.version();
  out->queue = MeanDelta(b.queue(), a.queue(), ok);
  out->compute_input = MeanDelta(b.compute_input(), a.compute_input(), ok);
  out->compute_infer = MeanDelta(b.compute_infer(), a.compute_infer(), ok);
  out->compute_output = MeanDelta(b.compute_output(), a.compute_output(), ok);
  if (!ok) return false;
  out->success_count = static_cast<int64_t>(a.success().count() - b.success().count());
  out->failure_count = static_cast<int64_t>(a.fail().count() - b.fail().count());
  out->execution_count = static_cast<int64_t>(after.execution_count() - before.execution_count());
  return out->success_count > 0 || out->failure_count > 0;
}

std::string Ms(absl::Duration duration) {
  return absl::StrFormat("%.3f", absl::ToDoubleMilliseconds(duration));
}

}  // namespace

std::vector<ModelPhaseTimes> DiffModelStatistics(const inference::ModelStatisticsResponse& before,
                                                 const inference::ModelStatisticsResponse& after,
                                                 absl::Span<const std::string> first) {
  std::map<Key, const inference::ModelStatistics*> earlier;
  for (const inference::ModelStatistics& stats : before.model_stats()) {
    earlier[{stats.name(), stats.version()}] = &stats;
  }
  const inference::ModelStatistics empty;
  std::vector<ModelPhaseTimes> rows;
  for (const inference::ModelStatistics& stats : after.model_stats()) {
    auto found = earlier.find({stats.name(), stats.version()});
    ModelPhaseTimes row;
    if (Diff(found == earlier.end() ? empty : *found->second, stats, &row)) {
      rows.push_back(std::move(row));
    }
  }
  auto rank = [&](const ModelPhaseTimes& row) {
    return static_cast<size_t>(std::find(first.begin(), first.end(), row.name) - first.begin());
  };
  std::sort(rows.begin(), rows.end(), [&](const ModelPhaseTimes& x, const ModelPhaseTimes& y) {
    return std::make_tuple(rank(x), x.name, x.version) <
           std::make_tuple(rank(y), y.name, y.version);
  });
  return rows;
}

std::string FormatPhaseTable(absl::Span<const ModelPhaseTimes> rows, const std::string& indent) {
  if (rows.empty()) return absl::StrCat(indent, "(no model's statistics moved)\n");
  std::vector<std::vector<std::string>> cells = {
      {"model", "version", "ok", "fail", "queue", "input", "infer", "output", "total"}};
  for (const ModelPhaseTimes& row : rows) {
    cells.push_back({row.name, row.version.empty() ? "-" : row.version,
                     absl::StrCat(row.success_count), absl::StrCat(row.failure_count),
                     Ms(row.queue), Ms(row.compute_input), Ms(row.compute_infer),
                     Ms(row.compute_output), Ms(row.total())});
  }
  std::vector<size_t> widths(cells[0].size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    std::string text = indent;
    for (size_t i = 0; i < line.size(); ++i) {
      // Names left-aligned, numbers right-aligned, two spaces apart.
      const std::string pad(widths[i] - line[i].size(), ' ');
      if (i > 0) text += "  ";
      text += i < 2 ? line[i] + pad : pad + line[i];
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    absl::StrAppend(&out, text, "\n");
  }
  return out;
}

}  // namespace speech
