#include "client/speech/stats_delta.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.pb.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

// A model's statistics after `requests` successful requests of `infer_us` each (and 100 us in
// every other phase).
inference::ModelStatistics Stats(const std::string& name, int requests, int64_t infer_us,
                                 int executions = -1) {
  inference::ModelStatistics stats;
  stats.set_name(name);
  stats.set_version("1");
  stats.set_execution_count(executions < 0 ? requests : executions);
  inference::InferStatistics* infer = stats.mutable_inference_stats();
  infer->mutable_success()->set_count(requests);
  for (inference::StatisticDuration* phase :
       {infer->mutable_queue(), infer->mutable_compute_input(), infer->mutable_compute_output()}) {
    phase->set_count(requests);
    phase->set_ns(requests * 100000);
  }
  infer->mutable_compute_infer()->set_count(requests);
  infer->mutable_compute_infer()->set_ns(requests * infer_us * 1000);
  return stats;
}

TEST(DiffModelStatisticsTest, KeepsTheModelsThatMovedRequestedOnesFirst) {
  inference::ModelStatisticsResponse before;
  *before.add_model_stats() = Stats("tts_vocoder", 3, 500);
  *before.add_model_stats() = Stats("tts", 3, 0, 0);
  *before.add_model_stats() = Stats("identity", 7, 10);
  *before.add_model_stats() = Stats("tts_acoustic", 3, 200);
  inference::ModelStatisticsResponse after;
  *after.add_model_stats() = Stats("tts_vocoder", 4, 800);  // this request: 1700 us
  *after.add_model_stats() = Stats("tts", 4, 0, 0);
  *after.add_model_stats() = Stats("identity", 7, 10);  // did not move
  *after.add_model_stats() = Stats("tts_acoustic", 4, 200);

  const std::vector<ModelPhaseTimes> rows = DiffModelStatistics(before, after, {"tts"});
  EXPECT_THAT(rows, ElementsAre(Field(&ModelPhaseTimes::name, "tts"),
                                Field(&ModelPhaseTimes::name, "tts_acoustic"),
                                Field(&ModelPhaseTimes::name, "tts_vocoder")));
  const ModelPhaseTimes& vocoder = rows[2];
  EXPECT_EQ(vocoder.version, "1");
  EXPECT_EQ(vocoder.success_count, 1);
  EXPECT_EQ(vocoder.failure_count, 0);
  EXPECT_EQ(vocoder.execution_count, 1);
  EXPECT_EQ(vocoder.queue, absl::Microseconds(100));
  EXPECT_EQ(vocoder.compute_infer, absl::Microseconds(1700));
  EXPECT_EQ(vocoder.total(), absl::Microseconds(2000));
  EXPECT_EQ(rows[0].execution_count, 0);
}

TEST(DiffModelStatisticsTest, CountsNewModelsFromZeroAndSkipsReloadedOnes) {
  inference::ModelStatisticsResponse before;
  *before.add_model_stats() = Stats("asr", 10, 100);
  inference::ModelStatisticsResponse after;
  *after.add_model_stats() = Stats("asr", 2, 100);  // went backwards: reloaded
  *after.add_model_stats() = Stats("fresh", 2, 300);
  inference::ModelStatistics failed = Stats("failing", 0, 0);
  failed.mutable_inference_stats()->mutable_fail()->set_count(2);
  *after.add_model_stats() = failed;

  const std::vector<ModelPhaseTimes> rows = DiffModelStatistics(before, after);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "failing");
  EXPECT_EQ(rows[0].failure_count, 2);
  EXPECT_EQ(rows[0].total(), absl::ZeroDuration());
  EXPECT_EQ(rows[1].name, "fresh");
  EXPECT_EQ(rows[1].success_count, 2);
  EXPECT_EQ(rows[1].compute_infer, absl::Microseconds(300));
}

TEST(FormatPhaseTableTest, AlignsColumnsInMilliseconds) {
  ModelPhaseTimes tts;
  tts.name = "tts";
  tts.version = "1";
  tts.success_count = 1;
  tts.queue = absl::Microseconds(100);
  tts.compute_input = absl::Microseconds(200);
  tts.compute_infer = absl::Microseconds(12000);
  tts.compute_output = absl::Microseconds(400);
  ModelPhaseTimes vocoder = tts;
  vocoder.name = "tts_vocoder";
  vocoder.version = "";
  vocoder.compute_infer = absl::Microseconds(1500);
  EXPECT_EQ(FormatPhaseTable({tts, vocoder}),
            "  model        version  ok  fail  queue  input   infer  output   total\n"
            "  tts          1         1     0  0.100  0.200  12.000   0.400  12.700\n"
            "  tts_vocoder  -         1     0  0.100  0.200   1.500   0.400   2.200\n");
  EXPECT_EQ(FormatPhaseTable({}, "> "), "> (no model's statistics moved)\n");
}

}  // namespace
}  // namespace speech
