#include "server/metrics/model/model_stats.h"

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "server/metrics/store/primitives.h"

namespace speech {
namespace {

TEST(ClassifyFailureTest, DispatchedRequestsFailInTheBackend) {
  EXPECT_EQ(ClassifyFailure(absl::InternalError("x"), true), FailureReason::kBackend);
  EXPECT_EQ(ClassifyFailure(absl::UnavailableError("x"), true), FailureReason::kBackend);
  EXPECT_EQ(ClassifyFailure(absl::UnavailableError("full"), false), FailureReason::kRejected);
  EXPECT_EQ(ClassifyFailure(absl::CancelledError("x"), false), FailureReason::kCanceled);
  EXPECT_EQ(ClassifyFailure(absl::DeadlineExceededError("x"), false), FailureReason::kCanceled);
  EXPECT_EQ(ClassifyFailure(absl::InvalidArgumentError("x"), false), FailureReason::kOther);
  EXPECT_EQ(ClassifyFailure(absl::InternalError("x"), false), FailureReason::kOther);
  EXPECT_EQ(FailureReasonName(FailureReason::kRejected), "REJECTED");
  EXPECT_EQ(FailureReasonName(FailureReason::kCanceled), "CANCELED");
  EXPECT_EQ(FailureReasonName(FailureReason::kBackend), "BACKEND");
  EXPECT_EQ(FailureReasonName(FailureReason::kOther), "OTHER");
}

// The series a catalog would make, owned by the test.
class ModelStatsTest : public ::testing::Test {
 protected:
  ModelStatsTest() {
    auto seconds = HistogramBuckets::Create({1000, 1000000}, 1e9);
    auto rows = HistogramBuckets::Create({1, 2, 4}, 1);
    for (int i = 0; i < 5; ++i) counters_.push_back(std::make_unique<Counter>());
    for (int i = 0; i < 5; ++i) histograms_.push_back(std::make_unique<Histogram>(*seconds));
    histograms_.push_back(std::make_unique<Histogram>(*rows));
    auto permille = HistogramBuckets::Create({0, 250, 500}, 1000);
    histograms_.push_back(std::make_unique<Histogram>(*permille));
    int c = 0;
    for (Counter*& failure : series_.failure) failure = counters_[c++].get();
    series_.inference_count = counters_[c++].get();
    series_.request_duration_ns = histograms_[0].get();
    series_.queue_duration_ns = histograms_[1].get();
    series_.compute_input_duration_ns = histograms_[2].get();
    series_.compute_infer_duration_ns = histograms_[3].get();
    series_.compute_output_duration_ns = histograms_[4].get();
    series_.batch_size_rows = histograms_[5].get();
    series_.padding_ratio_permille = histograms_[6].get();
    stats_ = std::make_unique<ModelStats>("m", "3", 4, series_);
  }

  // A request of `rows` that arrived at t0 + 10 us and ran in a batch dispatched at t0 + 30 us:
  // input 5 us, infer 100 us, output 7 us.
  std::unique_ptr<InferenceRequest> Finished(int64_t rows) {
    auto request = std::make_unique<InferenceRequest>();
    request->batch_rows = rows;
    PhaseTimes& t = request->times;
    t.arrival = t0_ + absl::Microseconds(10);
    t.dispatch = t0_ + absl::Microseconds(30);
    t.compute_input_start = t0_ + absl::Microseconds(40);
    t.compute_input_end = t0_ + absl::Microseconds(45);
    t.compute_infer_start = t.compute_input_end;
    t.compute_infer_end = t0_ + absl::Microseconds(145);
    t.compute_output_start = t.compute_infer_end;
    t.compute_output_end = t0_ + absl::Microseconds(152);
    return request;
  }

  const absl::Time t0_ = absl::FromUnixMillis(1700000000000);
  std::vector<std::unique_ptr<Counter>> counters_;
  std::vector<std::unique_ptr<Histogram>> histograms_;
  ModelSeries series_;
  std::unique_ptr<ModelStats> stats_;
};

TEST_F(ModelStatsTest, SuccessesFailuresAndExecutionsFillTheStatistics) {
  auto a = Finished(1);
  auto b = Finished(2);
  std::vector<InferenceRequest*> batch = {a.get(), b.get()};
  stats_->RecordExecution(batch);
  const absl::Time end = t0_ + absl::Microseconds(200);
  stats_->RecordCompletion(*a, absl::OkStatus(), t0_, end);
  stats_->RecordCompletion(*b, absl::OkStatus(), t0_, end);
  auto single = Finished(4);
  std::vector<InferenceRequest*> alone = {single.get()};
  stats_->RecordExecution(alone);
  stats_->RecordCompletion(*single, absl::OkStatus(), t0_, end);

  InferenceRequest queued;  // never dispatched
  stats_->RecordCompletion(queued, absl::UnavailableError("full"), t0_,
                           t0_ + absl::Microseconds(1));
  stats_->RecordCompletion(queued, absl::DeadlineExceededError("late"), t0_,
                           t0_ + absl::Microseconds(2));
  auto failed = Finished(1);
  stats_->RecordCompletion(*failed, absl::InternalError("model"), t0_, t0_ + absl::Microseconds(3));
  stats_->RecordFailure(FailureReason::kOther, t0_, t0_ + absl::Microseconds(4));

  EXPECT_EQ(series_.request_duration_ns->Count(), 3u);
  EXPECT_EQ(series_.failure[0]->Value(), 1u);  // REJECTED
  EXPECT_EQ(series_.failure[1]->Value(), 1u);  // CANCELED
  EXPECT_EQ(series_.failure[2]->Value(), 1u);  // BACKEND
  EXPECT_EQ(series_.failure[3]->Value(), 1u);  // OTHER
  EXPECT_EQ(series_.inference_count->Value(), 7u);
  EXPECT_EQ(series_.batch_size_rows->Count(), 2u);
  EXPECT_EQ(series_.request_duration_ns->Sum(), 3 * 200000);
  EXPECT_EQ(series_.queue_duration_ns->Sum(), 3 * 20000);
  EXPECT_EQ(series_.compute_infer_duration_ns->Sum(), 3 * 100000);
  EXPECT_EQ(series_.batch_size_rows->Snapshot().bucket_counts, (std::vector<uint64_t>{0, 0, 2, 0}));
  EXPECT_EQ(series_.request_duration_ns->Snapshot().bucket_counts,
            (std::vector<uint64_t>{0, 3, 0}));

  inference::ModelStatistics statistics;
  stats_->Fill(&statistics);
  EXPECT_EQ(statistics.name(), "m");
  EXPECT_EQ(statistics.version(), "3");
  EXPECT_EQ(statistics.last_inference(), 1700000000000u);  // last completion, in ms
  EXPECT_EQ(statistics.inference_count(), 7u);
  EXPECT_EQ(statistics.execution_count(), 2u);
  const inference::InferStatistics& infer = statistics.inference_stats();
  EXPECT_EQ(infer.success().count(), 3u);
  EXPECT_EQ(infer.success().ns(), 600000u);
  EXPECT_EQ(infer.fail().count(), 4u);
  EXPECT_EQ(infer.fail().ns(), 10000u);
  EXPECT_EQ(infer.queue().ns(), 60000u);
  EXPECT_EQ(infer.compute_input().ns(), 15000u);
  EXPECT_EQ(infer.compute_infer().ns(), 300000u);
  EXPECT_EQ(infer.compute_output().count(), 3u);
  EXPECT_EQ(infer.compute_output().ns(), 21000u);
  ASSERT_EQ(statistics.batch_stats_size(), 2);
  EXPECT_EQ(statistics.batch_stats(0).batch_size(), 3u);
  EXPECT_EQ(statistics.batch_stats(0).compute_infer().count(), 1u);
  EXPECT_EQ(statistics.batch_stats(0).compute_infer().ns(), 100000u);
  EXPECT_EQ(statistics.batch_stats(1).batch_size(), 4u);
  EXPECT_EQ(statistics.batch_stats(1).compute_input().ns(), 5000u);
  EXPECT_EQ(statistics.batch_stats(1).compute_output().ns(), 7000u);
}

TEST_F(ModelStatsTest, OversizedBatchesCountAsTheLargestTracked) {
  auto big = Finished(9);
  std::vector<InferenceRequest*> batch = {big.get()};
  stats_->RecordExecution(batch);
  inference::ModelStatistics statistics;
  stats_->Fill(&statistics);
  ASSERT_EQ(statistics.batch_stats_size(), 1);
  EXPECT_EQ(statistics.batch_stats(0).batch_size(), 4u);
  EXPECT_EQ(series_.batch_size_rows->Snapshot().bucket_counts, (std::vector<uint64_t>{0, 0, 0, 1}));
}

TEST_F(ModelStatsTest, PaddedExecutionsRecordTheirPaddingRatio) {
  auto padded = Finished(2);
  padded->executed_real_elements = 14;  // 14 real elements padded to 20: ratio 6 / 14
  padded->executed_padded_elements = 20;
  auto plain = Finished(1);  // a model that pads nothing records no ratio
  InferenceRequest* const padded_batch[] = {padded.get()};
  InferenceRequest* const plain_batch[] = {plain.get()};
  stats_->RecordExecution(padded_batch);
  stats_->RecordExecution(plain_batch);
  const HistogramSnapshot ratio = series_.padding_ratio_permille->Snapshot();
  EXPECT_EQ(ratio.bucket_counts, (std::vector<uint64_t>{0, 0, 1, 0}));
  EXPECT_EQ(ratio.sum, 428);
}

}  // namespace
}  // namespace speech
