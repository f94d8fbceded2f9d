#include "client/accuracy/compare/accuracy_metrics.h"

#include <algorithm>
#include <tuple>

#include "proto/check.h"

namespace speech {
namespace {

// Orders comparisons by how bad they are (larger is worse), as OutputSummary::worst says.
std::tuple<bool, bool, int64_t, double, double> Badness(const TensorComparison& comparison,
                                                        const Thresholds& thresholds) {
  const bool incomparable = comparison.missing || comparison.shape_mismatch;
  return {!ComparisonPasses(comparison, thresholds), incomparable,
          comparison.exact ? comparison.differing_elements : 0, comparison.max_rel_error,
          comparison.max_abs_error};
}

void Add(const TensorComparison& comparison, size_t result, const Thresholds& thresholds,
         absl::Span<const RequestResult> results, size_t output, OutputSummary* summary) {
  if (comparison.missing) {
    ++summary->missing;
  } else {
    ++summary->requests;
    summary->shape_mismatches += comparison.shape_mismatch ? 1 : 0;
    summary->elements += comparison.elements;
    summary->differing_elements += comparison.differing_elements;
    summary->max_abs_error = std::max(summary->max_abs_error, comparison.max_abs_error);
    summary->max_rel_error = std::max(summary->max_rel_error, comparison.max_rel_error);
    summary->mean_abs_error += comparison.sum_abs_error;  // divided once all are in
  }
  if (!ComparisonPasses(comparison, thresholds)) {
    ++summary->failing_requests;
    summary->passed = false;
  }
  if (!summary->worst.has_value() ||
      Badness(comparison, thresholds) >
          Badness(results[*summary->worst].outputs[output], thresholds)) {
    summary->worst = result;
  }
}

}  // namespace

bool ComparisonPasses(const TensorComparison& comparison, const Thresholds& thresholds) {
  if (comparison.missing || comparison.shape_mismatch) return false;
  if (comparison.exact) return comparison.differing_elements == 0;
  if (!(comparison.max_rel_error <= thresholds.max_rel_error)) return false;
  return !thresholds.max_abs_error.has_value() ||
         comparison.max_abs_error <= *thresholds.max_abs_error;
}

AccuracySummary SummarizeAccuracy(absl::Span<const OutputSpec> outputs,
                                  absl::Span<const RequestResult> results,
                                  const Thresholds& thresholds) {
  AccuracySummary summary;
  summary.requests = static_cast<int64_t>(results.size());
  for (const OutputSpec& spec : outputs) {
    OutputSummary& output = summary.outputs.emplace_back();
    output.name = spec.name;
    output.datatype = spec.datatype;
    output.exact = IsExactDatatype(spec.datatype);
  }
  for (size_t r = 0; r < results.size(); ++r) {
    const RequestResult& result = results[r];
    if (!result.status.ok()) {
      ++summary.failed_requests;
      if (!summary.first_failed.has_value()) summary.first_failed = r;
      continue;
    }
    SPEECH_CHECK(result.outputs.size() == outputs.size(), "request ", result.index, " holds ",
                 result.outputs.size(), " comparisons for ", outputs.size(), " outputs");
    for (size_t j = 0; j < outputs.size(); ++j) {
      Add(result.outputs[j], r, thresholds, results, j, &summary.outputs[j]);
    }
  }
  summary.passed = summary.failed_requests == 0;
  for (OutputSummary& output : summary.outputs) {
    if (output.elements > 0) output.mean_abs_error /= static_cast<double>(output.elements);
    summary.passed = summary.passed && output.passed;
  }
  return summary;
}

}  // namespace speech
