#include "client/accuracy/compare/accuracy_metrics.h"

#include <limits>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

TensorComparison Float(double max_abs, double max_rel, int64_t elements = 10) {
  TensorComparison c;
  c.elements = elements;
  c.max_abs_error = max_abs;
  c.sum_abs_error = max_abs * elements;
  c.max_rel_error = max_rel;
  c.differing_elements = max_abs > 0 ? elements : 0;
  return c;
}

TensorComparison Exact(int64_t differing, int64_t elements = 1) {
  TensorComparison c;
  c.exact = true;
  c.elements = elements;
  c.differing_elements = differing;
  c.max_abs_error = differing > 0 ? 1 : 0;
  c.sum_abs_error = static_cast<double>(differing);
  return c;
}

TensorComparison ShapeMismatch() {
  TensorComparison c;
  c.shape_mismatch = true;
  c.detail = "shape [1, 3] but the reference's is [1, 4]";
  return c;
}

RequestResult Result(int64_t index, std::vector<TensorComparison> outputs) {
  RequestResult result;
  result.index = index;
  result.sample = index % 4;
  result.repeat = index / 4;
  result.outputs = std::move(outputs);
  return result;
}

const std::vector<OutputSpec> kOutputs = {{"LOGITS", "FP32"}, {"FRAMES", "INT64"}};

TEST(ComparisonPassesTest, FloatsWithinTheRelativeThresholdPass) {
  Thresholds thresholds;
  thresholds.max_rel_error = 1e-4;
  EXPECT_TRUE(ComparisonPasses(Float(1, 1e-4), thresholds));
  EXPECT_FALSE(ComparisonPasses(Float(1, 2e-4), thresholds));
  EXPECT_FALSE(ComparisonPasses(
      Float(std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()),
      thresholds));
  thresholds.max_abs_error = 0.5;
  EXPECT_FALSE(ComparisonPasses(Float(1, 1e-5), thresholds));
  EXPECT_TRUE(ComparisonPasses(Float(0.5, 1e-5), thresholds));
}

TEST(ComparisonPassesTest, ExactOutputsIgnoreTheThresholds) {
  Thresholds loose;
  loose.max_rel_error = 1e9;
  loose.max_abs_error = 1e9;
  EXPECT_FALSE(ComparisonPasses(Exact(1), loose));
  EXPECT_TRUE(ComparisonPasses(Exact(0), Thresholds{0, 0}));
  EXPECT_FALSE(ComparisonPasses(ShapeMismatch(), loose));
  EXPECT_FALSE(ComparisonPasses(MissingOutput(), loose));
}

TEST(SummarizeAccuracyTest, FoldsEveryRequestPerOutput) {
  const std::vector<RequestResult> results = {
      Result(0, {Float(1e-6, 1e-7), Exact(0)}),
      Result(1, {Float(3e-6, 5e-7), Exact(0)}),
      Result(2, {Float(2e-6, 2e-7), Exact(0)}),
  };
  const AccuracySummary summary = SummarizeAccuracy(kOutputs, results, Thresholds{});
  EXPECT_TRUE(summary.passed);
  EXPECT_EQ(summary.requests, 3);
  EXPECT_EQ(summary.failed_requests, 0);
  ASSERT_EQ(summary.outputs.size(), 2u);
  const OutputSummary& logits = summary.outputs[0];
  EXPECT_EQ(logits.name, "LOGITS");
  EXPECT_FALSE(logits.exact);
  EXPECT_EQ(logits.requests, 3);
  EXPECT_EQ(logits.elements, 30);
  EXPECT_DOUBLE_EQ(logits.max_abs_error, 3e-6);
  EXPECT_DOUBLE_EQ(logits.max_rel_error, 5e-7);
  EXPECT_DOUBLE_EQ(logits.mean_abs_error, 2e-6);
  EXPECT_EQ(logits.worst, 1u);
  EXPECT_TRUE(logits.passed);
  EXPECT_TRUE(summary.outputs[1].exact);
  EXPECT_EQ(summary.outputs[1].differing_elements, 0);
}

TEST(SummarizeAccuracyTest, TheWorstRequestIsAFailingOne) {
  const std::vector<RequestResult> results = {
      Result(0, {Float(1e-3, 1e-3), Exact(0)}),
      Result(1, {Float(1e-2, 5e-5), Exact(2, 3)}),  // largest absolute error, fails FRAMES
      Result(2, {ShapeMismatch(), Exact(1)}),
      Result(3, {Float(1e-3, 2e-3), Exact(0)}),
  };
  const AccuracySummary summary = SummarizeAccuracy(kOutputs, results, Thresholds{});
  EXPECT_FALSE(summary.passed);
  const OutputSummary& logits = summary.outputs[0];
  EXPECT_FALSE(logits.passed);
  EXPECT_EQ(logits.failing_requests, 3);
  EXPECT_EQ(logits.shape_mismatches, 1);
  EXPECT_EQ(logits.worst, 2u);  // a shape mismatch is worse than any error
  const OutputSummary& frames = summary.outputs[1];
  EXPECT_EQ(frames.failing_requests, 2);
  EXPECT_EQ(frames.differing_elements, 3);
  EXPECT_EQ(frames.worst, 1u);  // the most differing elements
}

TEST(SummarizeAccuracyTest, AmongFloatsTheLargestRelativeErrorIsWorst) {
  const std::vector<RequestResult> results = {
      Result(0, {Float(1e-2, 2e-4), Exact(0)}),
      Result(1, {Float(1e-4, 3e-4), Exact(0)}),
  };
  const AccuracySummary summary = SummarizeAccuracy(kOutputs, results, Thresholds{});
  EXPECT_EQ(summary.outputs[0].worst, 1u);
  EXPECT_TRUE(summary.outputs[1].passed);
}

TEST(SummarizeAccuracyTest, FailedRequestsFailTheRun) {
  std::vector<RequestResult> results = {Result(0, {Float(0, 0), Exact(0)}), Result(1, {}),
                                        Result(2, {})};
  results[1].status = absl::UnavailableError("connection reset");
  results[2].status = absl::DeadlineExceededError("too slow");
  const AccuracySummary summary = SummarizeAccuracy(kOutputs, results, Thresholds{});
  EXPECT_FALSE(summary.passed);
  EXPECT_EQ(summary.failed_requests, 2);
  EXPECT_EQ(summary.first_failed, 1u);
  EXPECT_TRUE(summary.outputs[0].passed);
  EXPECT_EQ(summary.outputs[0].requests, 1);
}

TEST(SummarizeAccuracyTest, MissingOutputsAreCountedApartAndFail) {
  const std::vector<RequestResult> results = {Result(0, {Float(0, 0), MissingOutput()})};
  const AccuracySummary summary = SummarizeAccuracy(kOutputs, results, Thresholds{});
  EXPECT_FALSE(summary.passed);
  EXPECT_EQ(summary.outputs[1].missing, 1);
  EXPECT_EQ(summary.outputs[1].requests, 0);
  EXPECT_EQ(summary.outputs[1].worst, 0u);
}

TEST(SummarizeAccuracyTest, NoRequestsPassWithoutAWorst) {
  const AccuracySummary summary = SummarizeAccuracy(kOutputs, {}, Thresholds{});
  EXPECT_TRUE(summary.passed);
  EXPECT_FALSE(summary.outputs[0].worst.has_value());
}

}  // namespace
}  // namespace speech
