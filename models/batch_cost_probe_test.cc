#include "models/batch_cost_probe.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/text_format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/synthetic_request.h"
#include "proto/element_values.h"
#include "tests/fakes/fake_clock.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::Each;
using ::testing::Pair;

constexpr char kPadded[] = R"pb(
  name: "asr"
  max_batch_size: 16
  input {
    name: "AUDIO" data_type: TYPE_FP32 dims: [ -1 ]
    ragged_padding { pad_value: 0 }
    constraints { min_length: 400 max_length: 64000 }
  }
  input { name: "SPEAKER" data_type: TYPE_INT64 dims: [ 2 ] constraints { min_value: 3 max_value: 9 } }
  output { name: "LOGITS" data_type: TYPE_FP32 dims: [ -1, 32 ] }
)pb";

inference::ModelConfig Parse(const char* text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config));
  return config;
}

// Records the (rows, length of the first input) of every batch; answers nothing.
class Recording : public BatchExecutor {
 public:
  absl::Status Execute(absl::Span<InferenceRequest* const> batch) override {
    seen.emplace_back(batch[0]->batch_rows, batch[0]->inputs[0].shape[1]);
    return status;
  }
  std::vector<std::pair<int64_t, int64_t>> seen;
  absl::Status status;
};

TEST(CostProbeTest, GridRowsAndLengths) {
  EXPECT_THAT(CostProbeRows(16), ElementsAre(1, 2, 4, 8, 16));
  EXPECT_THAT(CostProbeRows(6), ElementsAre(1, 2, 4, 6));
  EXPECT_THAT(CostProbeRows(1), ElementsAre(1));
  EXPECT_THAT(CostProbeRows(64), ElementsAre(1, 2, 4, 8, 16, 64));
  // From a 64th of the longest (above min_length) to max_length, geometric.
  EXPECT_THAT(CostProbeLengths(Parse(kPadded), 4), ElementsAre(1000, 4000, 16000, 64000));
  inference::ModelConfig unconstrained = Parse(kPadded);
  unconstrained.mutable_input(0)->clear_constraints();
  EXPECT_THAT(CostProbeLengths(unconstrained, 3), ElementsAre(16, 128, 1024));
}

TEST(CostProbeTest, MeasuresEveryPointOfTheGrid) {
  Recording instance;
  auto samples = ProbeBatchCosts(instance, Parse(kPadded), {/*length_count=*/2, absl::Hours(1)});
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 5u * 2u);
  for (const CostSample& sample : *samples) EXPECT_GT(sample.cost, absl::ZeroDuration());
  EXPECT_EQ(instance.seen.size(), 5u * 2u * 4u);  // each point: one warm run and three timed
  EXPECT_THAT(instance.seen.front(), Pair(1, 1000));
  EXPECT_THAT(instance.seen.back(), Pair(16, 64000));
}

TEST(CostProbeTest, PointsPredictedTooExpensiveAreExtrapolatedNotRun) {
  Recording instance;
  auto samples =
      ProbeBatchCosts(instance, Parse(kPadded), {/*length_count=*/2, absl::ZeroDuration()});
  ASSERT_TRUE(samples.ok());
  EXPECT_EQ(samples->size(), 10u);
  // Only the cheapest point runs; every other is scaled from it.
  EXPECT_THAT(instance.seen, Each(Pair(1, 1000)));
  EXPECT_EQ((*samples)[9].cost, (*samples)[0].cost * 16 * 64);
}

// Costs that the test controls, on a fake clock: a slow outlier (a burst of other work) at 2 rows
// in the first round, and 4 rows measured cheaper than 2 rows could truly be.
class Scripted : public BatchExecutor {
 public:
  explicit Scripted(FakeClock* clock) : clock_(clock) {}
  absl::Status Execute(absl::Span<InferenceRequest* const> batch) override {
    const int64_t rows = batch[0]->batch_rows;
    ++runs_[rows];
    absl::Duration cost = absl::Microseconds(100 * rows);
    if (rows == 2 && runs_[rows] <= 2) cost = absl::Milliseconds(50);  // round 0
    if (rows == 2 && runs_[rows] > 2) cost = absl::Microseconds(180);
    if (rows == 4) cost = absl::Microseconds(150);
    clock_->Advance(cost);
    return absl::OkStatus();
  }

 private:
  FakeClock* const clock_;
  std::map<int64_t, int> runs_;
};

TEST(CostProbeTest, RoundsAndTheEnvelopeRemoveNoise) {
  FakeClock clock;
  Scripted instance(&clock);
  inference::ModelConfig config = Parse(kPadded);
  config.set_max_batch_size(4);
  auto samples =
      ProbeBatchCosts(instance, config, {/*length_count=*/1, absl::Hours(1)}, &clock);
  ASSERT_TRUE(samples.ok());
  ASSERT_EQ(samples->size(), 3u);  // rows 1, 2, 4
  EXPECT_EQ((*samples)[0].cost, absl::Microseconds(100));
  // The first round's outlier is gone, and 2 rows cost no more than 4 rows were measured at.
  EXPECT_EQ((*samples)[1].cost, absl::Microseconds(150));
  EXPECT_EQ((*samples)[2].cost, absl::Microseconds(150));
}

TEST(CostProbeTest, ModelsWithoutPaddingAreNotProbed) {
  inference::ModelConfig plain = Parse(kPadded);
  plain.mutable_input(0)->clear_ragged_padding();
  Recording instance;
  auto samples = ProbeBatchCosts(instance, plain);
  ASSERT_TRUE(samples.ok());
  EXPECT_TRUE(samples->empty());
  EXPECT_TRUE(instance.seen.empty());
}

TEST(CostProbeTest, AFailingRunNamesThePoint) {
  Recording instance;
  instance.status = absl::InternalError("boom");
  auto samples = ProbeBatchCosts(instance, Parse(kPadded));
  EXPECT_EQ(samples.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(samples.status().message()),
              ::testing::HasSubstr("cost probe of 1 rows of length 1000 failed: boom"));
}

TEST(SyntheticRequestTest, ValuesRespectTheConstraints) {
  std::unique_ptr<InferenceRequest> request = SyntheticRequest(Parse(kPadded), 3, 500);
  EXPECT_EQ(request->batch_rows, 3);
  ASSERT_EQ(request->inputs.size(), 2u);
  EXPECT_THAT(request->inputs[0].shape, ElementsAre(3, 500));
  EXPECT_THAT(request->inputs[1].shape, ElementsAre(3, 2));
  for (int64_t i = 0; i < 1500; ++i) {
    const double value = ElementAsDouble(inference::TYPE_FP32, request->inputs[0].data, i);
    ASSERT_GE(value, -0.5);
    ASSERT_LE(value, 0.5);
  }
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(ElementAsDouble(inference::TYPE_INT64, request->inputs[1].data, i), 3);  // min_value
  }
}

}  // namespace
}  // namespace speech
