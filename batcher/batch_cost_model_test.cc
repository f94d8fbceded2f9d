#include "batcher/batch_cost_model.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

// Cost = 1 ms + 0.01 ms per element, on rows {1, 4} x lengths {100, 1000}.
std::vector<CostSample> LinearGrid() {
  std::vector<CostSample> samples;
  for (int64_t rows : {1, 4}) {
    for (int64_t length : {100, 1000}) {
      samples.push_back({rows, length, absl::Microseconds(1000 + 10 * rows * length)});
    }
  }
  return samples;
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

TEST(BatchCostModelTest, GridPointsAreExact) {
  auto model = BatchCostModel::Create(LinearGrid());
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_DOUBLE_EQ(Ms(model->Estimate(1, 100)), 2.0);
  EXPECT_DOUBLE_EQ(Ms(model->Estimate(4, 1000)), 41.0);
  EXPECT_THAT(model->row_counts(), ::testing::ElementsAre(1, 4));
  EXPECT_THAT(model->lengths(), ::testing::ElementsAre(100, 1000));
}

TEST(BatchCostModelTest, InterpolatesBetweenAndScalesBeyondTheGrid) {
  auto model = BatchCostModel::Create(LinearGrid());
  ASSERT_TRUE(model.ok());
  EXPECT_NEAR(Ms(model->Estimate(1, 550)), 6.5, 1e-9);    // halfway between 2 and 11 ms
  EXPECT_NEAR(Ms(model->Estimate(2, 100)), 3.0, 1e-9);    // a third of the way from 2 to 5 ms
  EXPECT_NEAR(Ms(model->Estimate(1, 50)), 2.0, 1e-9);     // below the grid: the smallest length
  EXPECT_NEAR(Ms(model->Estimate(1, 2000)), 22.0, 1e-9);  // beyond: proportional to the length
  EXPECT_NEAR(Ms(model->Estimate(8, 1000)), 82.0, 1e-9);  // beyond: proportional to the rows
}

TEST(BatchCostModelTest, ObservationsMoveTheNearestPointTowardWhatWasMeasured) {
  BatchCostModel::Options options;
  options.refinement_weight = 0.5;
  options.global_weight = 0;
  auto model = BatchCostModel::Create(LinearGrid(), options);
  ASSERT_TRUE(model.ok());
  model->Observe(4, 900, absl::Milliseconds(2 * 37));  // twice the estimate near (4, 1000)
  EXPECT_NEAR(Ms(model->Estimate(4, 1000)), 41.0 * 1.5, 1e-9);
  EXPECT_NEAR(Ms(model->Estimate(1, 100)), 2.0, 1e-9);  // other points keep their estimates
  model->Observe(1, 100, absl::ZeroDuration());         // ignored
  EXPECT_NEAR(Ms(model->Estimate(1, 100)), 2.0, 1e-9);
}

TEST(BatchCostModelTest, APointStaysWithinHalfAndTwiceWhatWasMeasured) {
  BatchCostModel::Options options;
  options.refinement_weight = 1;
  options.global_weight = 0;
  auto model = BatchCostModel::Create(LinearGrid(), options);
  ASSERT_TRUE(model.ok());
  // Preempted batches, again and again: the estimate rises to twice the measurement, no more, so
  // a batch size that stops being formed is not written off for good.
  for (int i = 0; i < 20; ++i) model->Observe(4, 1000, absl::Seconds(10));
  EXPECT_NEAR(Ms(model->Estimate(4, 1000)), 82.0, 1e-9);
  for (int i = 0; i < 20; ++i) model->Observe(4, 1000, absl::Microseconds(1));
  EXPECT_NEAR(Ms(model->Estimate(4, 1000)), 20.5, 1e-9);
}

TEST(BatchCostModelTest, TheWholeTableFollowsTheMachine) {
  BatchCostModel::Options options;
  options.refinement_weight = 0.1;
  options.global_weight = 0.5;
  auto model = BatchCostModel::Create(LinearGrid(), options);
  ASSERT_TRUE(model.ok());
  model->Observe(1, 100, absl::Milliseconds(4));  // twice the estimate
  // Every point scales by (1 - 0.5) + 0.5 * 2 = 1.5; the observed one also moved on its own.
  EXPECT_NEAR(Ms(model->Estimate(4, 1000)), 41.0 * 1.5, 1e-9);
  EXPECT_NEAR(Ms(model->Estimate(1, 100)), 2.0 * 1.1 * 1.5, 1e-9);
}

TEST(BatchCostModelTest, RefinedIsTheGridAsEstimatedNow) {
  auto model = BatchCostModel::Create(LinearGrid());
  ASSERT_TRUE(model.ok());
  std::vector<CostSample> before = model->Refined();
  ASSERT_EQ(before.size(), 4u);
  const std::vector<CostSample> grid = LinearGrid();
  for (size_t i = 0; i < grid.size(); ++i) {
    EXPECT_EQ(before[i].rows, grid[i].rows) << i;
    EXPECT_EQ(before[i].length, grid[i].length) << i;
    EXPECT_EQ(before[i].cost, grid[i].cost) << i;
  }
  EXPECT_EQ(model->observations(), 0);
  model->Observe(4, 1000, absl::Milliseconds(82));  // twice the estimate
  model->Observe(4, 1000, absl::ZeroDuration());    // ignored
  EXPECT_EQ(model->observations(), 1);
  const std::vector<CostSample> after = model->Refined();
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_NEAR(Ms(after[i].cost), Ms(model->Estimate(after[i].rows, after[i].length)), 1e-9);
    EXPECT_GT(after[i].cost, before[i].cost) << i;  // the whole table followed (scale)
  }
  EXPECT_GT(Ms(after[3].cost) / Ms(before[3].cost), Ms(after[0].cost) / Ms(before[0].cost));
}

TEST(BatchCostModelTest, CreateNeedsAFullGridOfPositiveCosts) {
  EXPECT_THAT(BatchCostModel::Create({}).status().message(), HasSubstr("no samples"));
  std::vector<CostSample> holes = LinearGrid();
  holes.pop_back();
  EXPECT_THAT(BatchCostModel::Create(holes).status().message(),
              HasSubstr("no sample of 4 rows of length 1000"));
  std::vector<CostSample> twice = LinearGrid();
  twice.push_back(twice.front());
  EXPECT_THAT(BatchCostModel::Create(twice).status().message(), HasSubstr("given twice"));
  std::vector<CostSample> free = LinearGrid();
  free[1].cost = absl::ZeroDuration();
  EXPECT_THAT(BatchCostModel::Create(free).status().message(), HasSubstr("a positive cost"));
  BatchCostModel::Options options;
  options.refinement_weight = 0;
  EXPECT_THAT(BatchCostModel::Create(LinearGrid(), options).status().message(),
              HasSubstr("refinement_weight must be in (0, 1]; was 0"));
}

}  // namespace
}  // namespace speech
