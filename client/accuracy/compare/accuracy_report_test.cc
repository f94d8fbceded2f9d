#include "client/accuracy/compare/accuracy_report.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TensorComparison Float(double max_abs, double max_rel) {
  TensorComparison c;
  c.elements = 4;
  c.max_abs_error = max_abs;
  c.sum_abs_error = max_abs * 4;
  c.max_rel_error = max_rel;
  c.differing_elements = max_abs > 0 ? 4 : 0;
  return c;
}

TensorComparison Exact(int64_t differing) {
  TensorComparison c;
  c.exact = true;
  c.elements = 3;
  c.differing_elements = differing;
  c.max_abs_error = static_cast<double>(differing);
  c.sum_abs_error = static_cast<double>(differing);
  return c;
}

RequestResult Result(int64_t index, std::vector<TensorComparison> outputs) {
  RequestResult result;
  result.index = index;
  result.sample = index % 2;
  result.repeat = index / 2;
  result.outputs = std::move(outputs);
  return result;
}

const std::vector<OutputSpec> kOutputs = {{"LOGITS", "FP32"}, {"FRAMES", "INT64"}};

RunDescription Description() {
  RunDescription run;
  run.model = "wav2vec2";
  run.version = "1";
  run.model_path = "/repo/wav2vec2/1/model.pt";
  run.samples = 2;
  run.repeat = 2;
  run.concurrency = 8;
  return run;
}

TEST(AccuracyReportTest, DescribesRequestInputsWithTheirShapes) {
  inference::ModelInferRequest request;
  auto* audio = request.add_inputs();
  audio->set_name("AUDIO");
  audio->add_shape(1);
  audio->add_shape(15234);
  auto* lengths = request.add_inputs();
  lengths->set_name("LENGTHS");
  lengths->add_shape(1);
  EXPECT_EQ(DescribeRequestInputs(request), "AUDIO [1, 15234], LENGTHS [1]");
}

TEST(AccuracyReportTest, CsvHasCommentsAHeaderAndARowPerOutput) {
  const std::vector<RequestResult> results = {
      Result(0, {Float(1e-6, 2e-7), Exact(0)}), Result(1, {Float(2e-6, 1e-7), Exact(0)}),
      Result(2, {Float(0, 0), Exact(0)}), Result(3, {Float(0, 0), Exact(0)})};
  const AccuracySummary summary = SummarizeAccuracy(kOutputs, results, Thresholds{});
  const std::string csv = FormatAccuracyCsv(summary, results, Description());
  const std::vector<std::string> lines = absl::StrSplit(csv, '\n');
  ASSERT_EQ(lines.size(), 8u) << csv;
  EXPECT_EQ(lines[0],
            "# accuracy_checker: model wav2vec2 version 1 against /repo/wav2vec2/1/model.pt; 4 "
            "requests (2 samples x 2 repeats) at concurrency 8");
  EXPECT_EQ(lines[1],
            "# thresholds: max_rel_error 0.0001, max_abs_error none; exact outputs (integer, "
            "BOOL, BYTES) must be equal");
  EXPECT_EQ(lines[2], std::string("# ") + kRelativeErrorDefinition);
  EXPECT_EQ(lines[3], "# failed_requests: 0");
  EXPECT_EQ(lines[4], kAccuracyCsvColumns);
  EXPECT_EQ(lines[5], "LOGITS,FP32,float,4,16,2e-06,2e-07,7.5e-07,8,0,0,0,0,0,PASS");
  EXPECT_EQ(lines[6], "FRAMES,INT64,exact,4,12,0,0,0,0,0,0,0,0,0,PASS");
  EXPECT_EQ(lines[7], "");
}

TEST(AccuracyReportTest, CsvQuotesFieldsThatNeedIt) {
  const std::vector<OutputSpec> outputs = {{"A,B", "FP32"}};
  const std::vector<RequestResult> results = {Result(0, {Float(0, 0)})};
  const std::string csv =
      FormatAccuracyCsv(SummarizeAccuracy(outputs, results, Thresholds{}), results, Description());
  EXPECT_THAT(csv, HasSubstr("\n\"A,B\",FP32,float,"));
}

TEST(AccuracyReportTest, TableIsAlignedAndEndsWithTheVerdict) {
  const std::vector<RequestResult> results = {Result(0, {Float(1e-6, 2e-7), Exact(0)})};
  const std::string table =
      FormatAccuracyTable(SummarizeAccuracy(kOutputs, results, Thresholds{}), results);
  const std::vector<std::string> lines = absl::StrSplit(table, '\n');
  ASSERT_EQ(lines.size(), 5u) << table;
  EXPECT_THAT(lines[0], StartsWith("output  datatype  requests  max_abs_error  max_rel_error"));
  EXPECT_THAT(lines[1], StartsWith("LOGITS  FP32      1         1e-06          2e-07"));
  EXPECT_THAT(lines[2], StartsWith("FRAMES  INT64     1         0              0"));
  EXPECT_EQ(lines[3], "1 requests, 0 failed: PASS");
}

TEST(AccuracyReportTest, FailureNamesTheThresholdAndTheWorstRequest) {
  const std::vector<RequestResult> results = {
      Result(0, {Float(1e-6, 2e-7), Exact(0)}), Result(1, {Float(1e-3, 3e-4), Exact(0)}),
      Result(2, {Float(1e-6, 2e-7), Exact(0)}), Result(3, {Float(1e-6, 2e-7), Exact(2)})};
  const AccuracySummary summary = SummarizeAccuracy(kOutputs, results, Thresholds{});
  const std::vector<std::string> samples = {"AUDIO [1, 4000]", "AUDIO [1, 8000]"};
  EXPECT_EQ(DescribeFailure(summary, results, samples, Thresholds{}),
            "output LOGITS: max_rel_error 0.0003 > 0.0001 (max abs error 0.001); 1 of 4 "
            "requests outside the thresholds; worst: request 1 (sample 1, repeat 0; AUDIO [1, "
            "8000])\n"
            "output FRAMES: 2 of 3 elements differ (an exact output; max abs error 2); 1 of 4 "
            "requests outside the thresholds; worst: request 3 (sample 1, repeat 1; AUDIO [1, "
            "8000])\n");
}

TEST(AccuracyReportTest, FailureNamesAnAbsoluteThresholdAndFailedRequests) {
  std::vector<RequestResult> results = {Result(0, {Float(0.5, 1e-6), Exact(0)}), Result(1, {})};
  results[1].status = absl::UnavailableError("connection refused");
  Thresholds thresholds;
  thresholds.max_abs_error = 0.1;
  const AccuracySummary summary = SummarizeAccuracy(kOutputs, results, thresholds);
  const std::string message =
      DescribeFailure(summary, results, {"X [1, 2]", "X [1, 3]"}, thresholds);
  EXPECT_THAT(message, HasSubstr("output LOGITS: max_abs_error 0.5 > 0.1 (max rel error 1e-06)"));
  EXPECT_THAT(message, HasSubstr("1 of 2 requests failed; first: request 1 (sample 1, repeat 0; "
                                 "X [1, 3]): UNAVAILABLE: connection refused\n"));
  EXPECT_EQ(DescribeFailure(SummarizeAccuracy(kOutputs, {results[0]}, Thresholds{}), {results[0]},
                            {}, Thresholds{}),
            "");
}

}  // namespace
}  // namespace speech
