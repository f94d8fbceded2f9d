// The batch policy with a cost model (variable-length batching): length grouping, the cost
// model's decisions to batch or not and to wait or not, and fairness.
#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "batcher/policy/batch_cost_model.h"
#include "batcher/policy/batch_policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using Kind = BatchDecision::Kind;

const absl::Time kT0 = absl::FromUnixSeconds(1'000);
absl::Time Ms(int64_t ms) { return kT0 + absl::Milliseconds(ms); }

PendingRequest Req(int64_t length, int64_t arrival_ms = 0, int64_t rows = 1, uint64_t key = 0) {
  PendingRequest request;
  request.rows = rows;
  request.arrival = Ms(arrival_ms);
  request.shape_key = key;
  request.length = length;
  return request;
}

BatchPolicyOptions Dynamic(int64_t max_batch_size, absl::Duration delay = absl::Milliseconds(10),
                           std::vector<int64_t> preferred = {}) {
  BatchPolicyOptions options;
  options.max_batch_size = max_batch_size;
  options.dynamic_batching = true;
  options.preferred_batch_sizes = std::move(preferred);
  options.max_queue_delay = delay;
  return options;
}

// cost(rows, length) = fixed + per_element * rows * length (+ extra per row and element above
// one row, to make larger batches dearer per row), on a grid of rows {1, 2, 4, 8} and lengths
// {10, 100, 1000, 10000}.
BatchCostModel Model(double fixed_ms, double per_element_us, double batch_penalty_us = 0) {
  std::vector<CostSample> samples;
  for (int64_t rows : {1, 2, 4, 8}) {
    for (int64_t length : {10, 100, 1000, 10000}) {
      const double us = fixed_ms * 1000 + per_element_us * rows * length +
                        batch_penalty_us * (rows - 1) * rows * length;
      samples.push_back({rows, length, absl::Microseconds(us)});
    }
  }
  auto model = BatchCostModel::Create(samples);
  EXPECT_TRUE(model.ok()) << model.status();
  return *std::move(model);
}

// Batching pays: a large fixed cost per execution, small per element.
BatchCostModel BatchingPays() { return Model(/*fixed_ms=*/5, /*per_element_us=*/0.1); }
// Batching costs more per row than it saves (as the tiny models on two cores).
BatchCostModel BatchingHurts() { return Model(0.1, 1, /*batch_penalty_us=*/0.5); }

std::vector<size_t> Dispatched(const BatchDecision& decision) {
  EXPECT_EQ(decision.kind, Kind::kDispatch);
  return decision.indices;
}

TEST(CostPolicyTest, GroupsRequestsOfSimilarLength) {
  const BatchCostModel cost = BatchingPays();
  // The oldest is short; two more short ones and two long ones wait. A batch of the shorts pads
  // nothing; adding the longs would pad the shorts to 5000.
  std::vector<PendingRequest> pending = {Req(100, 0), Req(5000, 1), Req(110, 2), Req(4900, 3),
                                         Req(95, 4)};
  const BatchDecision decision = DecideBatch(pending, Ms(20), Dynamic(3), &cost);
  EXPECT_THAT(Dispatched(decision), ElementsAre(0, 2, 4));
}

TEST(CostPolicyTest, OldestAlwaysGoesEvenWhenItPadsOthers) {
  const BatchCostModel cost = BatchingPays();
  std::vector<PendingRequest> pending = {Req(5000, 0), Req(100, 1), Req(110, 2), Req(4800, 3)};
  // The long oldest one goes; its best companion is the other long one.
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(20), Dynamic(2), &cost)), ElementsAre(0, 3));
}

TEST(CostPolicyTest, WhereBatchingPaysItFillsTheBatch) {
  const BatchCostModel cost = BatchingPays();
  std::vector<PendingRequest> pending;
  for (int i = 0; i < 10; ++i) pending.push_back(Req(1000 + 10 * i, i));
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(20), Dynamic(4), &cost)).size(), 4u);
}

// Each companion saves more than the one before (cost grows as rows^0.8): the first alone saves
// less per row than a full batch would, yet the batch must still fill.
TEST(CostPolicyTest, WhereEachCompanionSavesMoreThanTheLastItStillFillsTheBatch) {
  std::vector<CostSample> samples;
  for (int64_t rows : {1, 2, 4, 8}) {
    for (int64_t length : {10, 10000}) {
      samples.push_back({rows, length, absl::Microseconds(std::pow(rows, 0.8) * length)});
    }
  }
  auto cost = BatchCostModel::Create(samples);
  ASSERT_TRUE(cost.ok()) << cost.status();
  std::vector<PendingRequest> pending;
  for (int i = 0; i < 10; ++i) pending.push_back(Req(1000, i));
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(20), Dynamic(8), &*cost)),
              ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
}

// Three rows of 1000 wait with a request of 1200 (closer in length) and one of 700. Padding the
// three to 1200 saves less than leaving it out; the 700 is padded alone and saves 17 % of its
// time (1.0 of 1.2 ms), past the 10 % margin.
TEST(CostPolicyTest, AShorterRequestJoinsPastALongerOneThatWouldPadTheBatch) {
  const BatchCostModel cost = Model(/*fixed_ms=*/0.5, /*per_element_us=*/1);
  std::vector<PendingRequest> pending = {Req(1000, 0), Req(1000, 1), Req(1000, 2), Req(1200, 3),
                                         Req(700, 4)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(20), Dynamic(8), &cost)), ElementsAre(0, 1, 2, 4));
}

TEST(CostPolicyTest, WhereBatchingHurtsRequestsGoOneByOneAtOnce) {
  const BatchCostModel cost = BatchingHurts();
  std::vector<PendingRequest> pending;
  for (int i = 0; i < 6; ++i) pending.push_back(Req(1000, i));
  // At once, well before the queue delay ends: waiting for companions cannot help.
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), Dynamic(8, absl::Seconds(1)), &cost)),
              ElementsAre(0));
}

// Per row, a batch of k rows costs (1 - saving_per_row * (k - 1)) of one row alone, k <= 8.
BatchCostModel SavesPerRow(double saving_per_row) {
  std::vector<CostSample> samples;
  for (int64_t rows : {1, 2, 4, 8}) {
    for (int64_t length : {1000, 100000}) {
      const double per_row_us =
          0.2 * static_cast<double>(length) * (1 - saving_per_row * static_cast<double>(rows - 1));
      samples.push_back({rows, length, absl::Microseconds(per_row_us * rows)});
    }
  }
  auto model = BatchCostModel::Create(samples);
  EXPECT_TRUE(model.ok()) << model.status();
  return *std::move(model);
}

// Batches that the estimates said would save under 10 % saved nothing on short commands and cost
// more than their requests alone on long sentences. A saving within min_saving (10 % by default)
// forms no batch, and the oldest goes alone at once; a larger one still batches.
TEST(CostPolicyTest, ASavingWithinTheMarginFormsNoBatch) {
  std::vector<PendingRequest> pending;
  for (int i = 0; i < 8; ++i) pending.push_back(Req(50000 + 100 * i, i));
  const BatchPolicyOptions options = Dynamic(8, absl::Seconds(1));
  const BatchCostModel marginal = SavesPerRow(0.01);  // 8 rows: 7 % less per row
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(8), options, &marginal)), ElementsAre(0));
  BatchPolicyOptions no_margin = options;
  no_margin.min_saving = 0;
  EXPECT_EQ(Dispatched(DecideBatch(pending, Ms(8), no_margin, &marginal)).size(), 8u);
  const BatchCostModel pays = SavesPerRow(0.02);  // 8 rows: 14 % less per row
  EXPECT_EQ(Dispatched(DecideBatch(pending, Ms(8), options, &pays)).size(), 8u);
}

// Nor is a lone request held for companions whose batch would save less than the margin.
TEST(CostPolicyTest, ALoneRequestDoesNotWaitForASavingWithinTheMargin) {
  std::vector<PendingRequest> pending = {Req(50000, 0)};
  const BatchCostModel marginal = SavesPerRow(0.01);
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(1), Dynamic(8), &marginal)), ElementsAre(0));
  const BatchCostModel pays = SavesPerRow(0.02);
  EXPECT_EQ(DecideBatch(pending, Ms(1), Dynamic(8), &pays).kind, Kind::kWait);
}

TEST(CostPolicyTest, WhereBatchingPaysAPartialBatchWaitsForTheDelay) {
  const BatchCostModel cost = BatchingPays();
  std::vector<PendingRequest> pending = {Req(1000, 0), Req(1000, 2)};
  const BatchDecision early = DecideBatch(pending, Ms(5), Dynamic(8), &cost);
  EXPECT_EQ(early.kind, Kind::kWait);
  EXPECT_EQ(early.wait_until, Ms(10));
  // Never past the oldest's delay.
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(10), Dynamic(8), &cost)), ElementsAre(0, 1));
}

// Batching pays up to 2 rows and hurts beyond: a lone request still waits for one companion.
TEST(CostPolicyTest, WaitsWhenSomeLargerBatchPaysEvenIfTheFullOneDoesNot) {
  std::vector<CostSample> samples;
  for (int64_t length : {10, 10000}) {
    samples.push_back({1, length, absl::Milliseconds(10)});
    samples.push_back({2, length, absl::Milliseconds(12)});
    samples.push_back({8, length, absl::Milliseconds(200)});
  }
  auto cost = BatchCostModel::Create(samples);
  ASSERT_TRUE(cost.ok());
  std::vector<PendingRequest> pending = {Req(1000, 0)};
  EXPECT_EQ(DecideBatch(pending, Ms(1), Dynamic(8), &*cost).kind, Kind::kWait);
  pending.push_back(Req(1000, 1));
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(1), Dynamic(8), &*cost)), ElementsAre(0, 1));
}

TEST(CostPolicyTest, APreferredSizeOrAFullBatchGoesAtOnce) {
  const BatchCostModel cost = BatchingPays();
  std::vector<PendingRequest> pending = {Req(1000, 0), Req(1000, 1)};
  EXPECT_THAT(
      Dispatched(DecideBatch(pending, Ms(1), Dynamic(8, absl::Milliseconds(10), {2}), &cost)),
      ElementsAre(0, 1));
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(1), Dynamic(2), &cost)), ElementsAre(0, 1));
}

TEST(CostPolicyTest, RowsOfMultiRowRequestsCountAndNeverExceedTheMaximum) {
  const BatchCostModel cost = BatchingPays();
  std::vector<PendingRequest> pending = {Req(1000, 0, /*rows=*/3), Req(1000, 1, 3), Req(1000, 2, 2),
                                         Req(1000, 3, 1)};
  const std::vector<size_t> batch = Dispatched(DecideBatch(pending, Ms(20), Dynamic(6), &cost));
  int64_t rows = 0;
  for (size_t i : batch) rows += pending[i].rows;
  EXPECT_EQ(rows, 6);
  EXPECT_EQ(batch.front(), 0u);
}

TEST(CostPolicyTest, OnlyCompatibleRequestsShareABatch) {
  const BatchCostModel cost = BatchingPays();
  std::vector<PendingRequest> pending = {Req(1000, 0, 1, /*key=*/1), Req(1000, 1, 1, 2),
                                         Req(1000, 2, 1, 1)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(20), Dynamic(8), &cost)), ElementsAre(0, 2));
}

// However the lengths fall, every request is dispatched within as many decisions as there are
// requests older than it: the oldest always goes.
TEST(CostPolicyTest, NoRequestIsPostponedIndefinitely) {
  const BatchCostModel cost = BatchingPays();
  std::vector<PendingRequest> pending;
  std::vector<int> ids;
  for (int i = 0; i < 40; ++i) {
    pending.push_back(Req(i % 2 == 0 ? 100 + i : 8000 - i, i));
    ids.push_back(i);
  }
  std::vector<int> dispatched_at(40, -1);
  for (int round = 0; !pending.empty(); ++round) {
    const std::vector<size_t> batch = Dispatched(DecideBatch(pending, Ms(1000), Dynamic(4), &cost));
    ASSERT_FALSE(batch.empty());
    EXPECT_EQ(batch.front(), 0u) << "the oldest goes first";
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      dispatched_at[ids[*it]] = round;
      pending.erase(pending.begin() + *it);
      ids.erase(ids.begin() + *it);
    }
  }
  for (int i = 0; i < 40; ++i) EXPECT_LE(dispatched_at[i], i) << i;
}

}  // namespace
}  // namespace speech
