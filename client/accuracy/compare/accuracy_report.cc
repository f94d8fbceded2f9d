#include "client/accuracy/compare/accuracy_report.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

std::string Number(double value) { return absl::StrFormat("%.6g", value); }

// A CSV field, quoted when it holds a separator, a quote or a line break.
std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// The fields of one output's row, in kAccuracyCsvColumns order.
std::vector<std::string> RowFields(const OutputSummary& output,
                                   absl::Span<const RequestResult> results) {
  std::string worst_request;
  std::string worst_sample;
  if (output.worst.has_value()) {
    worst_request = absl::StrCat(results[*output.worst].index);
    worst_sample = absl::StrCat(results[*output.worst].sample);
  }
  return {output.name,
          output.datatype,
          output.exact ? "exact" : "float",
          absl::StrCat(output.requests),
          absl::StrCat(output.elements),
          Number(output.max_abs_error),
          Number(output.max_rel_error),
          Number(output.mean_abs_error),
          absl::StrCat(output.differing_elements),
          absl::StrCat(output.shape_mismatches),
          absl::StrCat(output.missing),
          absl::StrCat(output.failing_requests),
          worst_request,
          worst_sample,
          output.passed ? "PASS" : "FAIL"};
}

std::string NameRequest(const RequestResult& result, absl::Span<const std::string> sample_inputs) {
  std::string name = absl::StrCat("request ", result.index, " (sample ", result.sample, ", repeat ",
                                  result.repeat);
  if (result.sample >= 0 && static_cast<size_t>(result.sample) < sample_inputs.size()) {
    absl::StrAppend(&name, "; ", sample_inputs[result.sample]);
  }
  return name + ")";
}

// What broke for one failing output, judged on its worst request.
std::string OutputFailure(const OutputSummary& output, const TensorComparison& worst,
                          const Thresholds& thresholds) {
  if (worst.missing || worst.shape_mismatch) return worst.detail;
  if (output.exact) {
    return absl::StrCat(worst.differing_elements, " of ", worst.elements,
                        " elements differ (an exact output; max abs error ",
                        Number(worst.max_abs_error), ")");
  }
  if (!(worst.max_rel_error <= thresholds.max_rel_error)) {
    return absl::StrCat("max_rel_error ", Number(worst.max_rel_error), " > ",
                        Number(thresholds.max_rel_error), " (max abs error ",
                        Number(worst.max_abs_error), ")");
  }
  return absl::StrCat("max_abs_error ", Number(worst.max_abs_error), " > ",
                      Number(thresholds.max_abs_error.value_or(0)), " (max rel error ",
                      Number(worst.max_rel_error), ")");
}

}  // namespace

std::string DescribeRequestInputs(const inference::ModelInferRequest& request) {
  std::vector<std::string> inputs;
  for (const auto& input : request.inputs()) {
    inputs.push_back(absl::StrCat(
        input.name(), " ",
        ShapeToString(std::vector<int64_t>(input.shape().begin(), input.shape().end()))));
  }
  return absl::StrJoin(inputs, ", ");
}

std::string FormatAccuracyCsv(const AccuracySummary& summary,
                              absl::Span<const RequestResult> results, const RunDescription& run) {
  std::string csv =
      absl::StrCat("# accuracy_checker: model ", run.model, " version ", run.version, " against ",
                   run.model_path, "; ", summary.requests, " requests (", run.samples,
                   " samples x ", run.repeat, " repeats) at concurrency ", run.concurrency, "\n");
  absl::StrAppend(&csv, "# thresholds: max_rel_error ", Number(run.thresholds.max_rel_error),
                  ", max_abs_error ",
                  run.thresholds.max_abs_error.has_value() ? Number(*run.thresholds.max_abs_error)
                                                           : std::string("none"),
                  "; exact outputs (integer, BOOL, BYTES) must be equal\n");
  absl::StrAppend(&csv, "# ", kRelativeErrorDefinition, "\n");
  absl::StrAppend(&csv, "# failed_requests: ", summary.failed_requests, "\n");
  absl::StrAppend(&csv, kAccuracyCsvColumns, "\n");
  for (const OutputSummary& output : summary.outputs) {
    std::vector<std::string> fields = RowFields(output, results);
    for (std::string& field : fields) field = CsvField(field);
    absl::StrAppend(&csv, absl::StrJoin(fields, ","), "\n");
  }
  return csv;
}

std::string FormatAccuracyTable(const AccuracySummary& summary,
                                absl::Span<const RequestResult> results) {
  const std::vector<std::string> header = {
      "output",         "datatype",  "requests",         "max_abs_error", "max_rel_error",
      "mean_abs_error", "differing", "shape_mismatches", "worst_request", "status"};
  // Indices of RowFields' fields shown, in `header`'s order.
  const std::vector<size_t> shown = {0, 1, 3, 5, 6, 7, 8, 9, 12, 14};
  std::vector<std::vector<std::string>> rows = {header};
  for (const OutputSummary& output : summary.outputs) {
    const std::vector<std::string> fields = RowFields(output, results);
    std::vector<std::string>& row = rows.emplace_back();
    for (size_t index : shown) row.push_back(fields[index]);
  }
  std::vector<size_t> widths(header.size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string table;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, i == 0 ? "" : "  ", row[i],
                      std::string(i + 1 < row.size() ? widths[i] - row[i].size() : 0, ' '));
    }
    absl::StrAppend(&table, line, "\n");
  }
  absl::StrAppend(&table, summary.requests, " requests, ", summary.failed_requests,
                  " failed: ", summary.passed ? "PASS" : "FAIL", "\n");
  return table;
}

std::string DescribeFailure(const AccuracySummary& summary, absl::Span<const RequestResult> results,
                            absl::Span<const std::string> sample_inputs,
                            const Thresholds& thresholds) {
  if (summary.passed) return "";
  std::string message;
  for (const OutputSummary& output : summary.outputs) {
    if (output.passed || !output.worst.has_value()) continue;
    const RequestResult& worst = results[*output.worst];
    size_t index = &output - summary.outputs.data();
    absl::StrAppend(&message, "output ", output.name, ": ",
                    OutputFailure(output, worst.outputs[index], thresholds), "; ",
                    output.failing_requests, " of ", summary.requests,
                    " requests outside the thresholds; worst: ", NameRequest(worst, sample_inputs),
                    "\n");
  }
  if (summary.first_failed.has_value()) {
    const RequestResult& first = results[*summary.first_failed];
    absl::StrAppend(&message, summary.failed_requests, " of ", summary.requests,
                    " requests failed; first: ", NameRequest(first, sample_inputs), ": ",
                    first.status.ToString(), "\n");
  }
  return message;
}

}  // namespace speech
