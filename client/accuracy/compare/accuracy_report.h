// What the accuracy checker writes: the CSV (one row per output, after comment lines that say
// what was run and how errors are defined), the table printed on stdout, and the message that
// names what failed and the worst request. Pure functions over plain values.
#ifndef SPEECH_CLIENT_ACCURACY_COMPARE_ACCURACY_REPORT_H_
#define SPEECH_CLIENT_ACCURACY_COMPARE_ACCURACY_REPORT_H_

#include <cstdint>
#include <string>

#include "absl/types/span.h"
#include "client/accuracy/compare/accuracy_metrics.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// What was run, for the CSV's comment lines. A plain value type.
struct RunDescription {
  std::string model;
  std::string version;
  std::string model_path;  // the reference's TorchScript file
  int64_t samples = 0;
  int64_t repeat = 1;
  int64_t concurrency = 1;
  Thresholds thresholds;
};

// The CSV's column names, in order.
inline constexpr char kAccuracyCsvColumns[] =
    "output,datatype,comparison,requests,elements,max_abs_error,max_rel_error,mean_abs_error,"
    "differing_elements,shape_mismatches,missing,failing_requests,worst_request,worst_sample,"
    "status";

// The inputs of `request` with their shapes, for naming a request: "AUDIO [1, 15234]".
std::string DescribeRequestInputs(const inference::ModelInferRequest& request);

// Lines starting with "# " (what ran, the thresholds, the relative error's definition, the
// failed request count), then kAccuracyCsvColumns, then one row per output of `summary`. The
// comparison column is "exact" or "float"; worst_request and worst_sample are empty when no
// request returned; status is PASS or FAIL. `results` are those `summary` was made from.
std::string FormatAccuracyCsv(const AccuracySummary& summary,
                              absl::Span<const RequestResult> results, const RunDescription& run);

// The rows as an aligned table for a terminal, then a line counting requests and failures.
std::string FormatAccuracyTable(const AccuracySummary& summary,
                                absl::Span<const RequestResult> results);

// Empty when `summary` passed. Otherwise one line per failing output naming the broken
// threshold and the worst request ("request 37 (sample 5, repeat 2; AUDIO [1, 15234])"), and one
// for failed requests naming the first with its error. `sample_inputs[s]` describes sample s
// (DescribeRequestInputs).
std::string DescribeFailure(const AccuracySummary& summary, absl::Span<const RequestResult> results,
                            absl::Span<const std::string> sample_inputs,
                            const Thresholds& thresholds);

}  // namespace speech

#endif  // SPEECH_CLIENT_ACCURACY_COMPARE_ACCURACY_REPORT_H_
