// The accuracy checker's verdict: every request's comparisons folded into one summary per output
// (largest and mean errors, shape mismatches, the worst request) against the thresholds, and
// whether the run passed. Pure functions over plain values.
#ifndef SPEECH_CLIENT_ACCURACY_COMPARE_ACCURACY_METRICS_H_
#define SPEECH_CLIENT_ACCURACY_COMPARE_ACCURACY_METRICS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "client/accuracy/compare/tensor_compare.h"

namespace speech {

// What a floating-point output may differ by. Exact outputs (tensor_compare.h) must not differ
// at all, whatever these say. A plain value type.
struct Thresholds {
  // Largest relative error allowed (kRelativeErrorDefinition). Must not be negative.
  double max_rel_error = 1e-4;
  // Largest absolute error allowed; none when unset. Must not be negative.
  std::optional<double> max_abs_error;
};

// What the reference model produced for an output. A plain value type.
struct OutputSpec {
  std::string name;
  std::string datatype;  // KServe wire name
};

// One request as sent, and its fate. A plain value type.
struct RequestResult {
  int64_t index = 0;   // position in the run: repeat * samples + sample
  int64_t sample = 0;  // which data set entry it carried
  int64_t repeat = 0;  // which of its repetitions
  // The RPC's status, or why the reply could not be read; comparisons only when OK.
  absl::Status status;
  // One per reference output, in the reference's order.
  std::vector<TensorComparison> outputs;
};

// Whether one comparison is within `thresholds`.
bool ComparisonPasses(const TensorComparison& comparison, const Thresholds& thresholds);

// One output over every request that returned. A plain value type.
struct OutputSummary {
  std::string name;
  std::string datatype;
  bool exact = false;
  int64_t requests = 0;  // replies that held the output (shape mismatches included)
  int64_t elements = 0;  // elements compared
  int64_t differing_elements = 0;
  double max_abs_error = 0;
  double max_rel_error = 0;
  double mean_abs_error = 0;  // over every element compared
  int64_t shape_mismatches = 0;
  int64_t missing = 0;           // replies without the output
  int64_t failing_requests = 0;  // comparisons outside the thresholds (mismatches included)
  // Index into the results of the worst request: a failing one before any that passes; then a
  // missing output or a shape mismatch; then the most differing elements (exact outputs) or the
  // largest relative, then absolute, error. Unset when no request returned.
  std::optional<size_t> worst;
  bool passed = true;
};

// The whole run. A plain value type.
struct AccuracySummary {
  std::vector<OutputSummary> outputs;  // in the reference's order
  int64_t requests = 0;
  int64_t failed_requests = 0;         // RPC errors and unreadable replies
  std::optional<size_t> first_failed;  // index into the results of the first such request
  // No request failed and every output passed.
  bool passed = true;
};

// Folds `results` into one summary per entry of `outputs`. REQUIRES: every OK result holds one
// comparison per entry of `outputs`.
AccuracySummary SummarizeAccuracy(absl::Span<const OutputSpec> outputs,
                                  absl::Span<const RequestResult> results,
                                  const Thresholds& thresholds);

}  // namespace speech

#endif  // SPEECH_CLIENT_ACCURACY_COMPARE_ACCURACY_METRICS_H_
