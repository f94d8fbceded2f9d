#include "batcher/policy/batch_policy.h"

#include <cstdint>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Kind = BatchDecision::Kind;

const absl::Time kT0 = absl::FromUnixSeconds(1'000);

absl::Time Ms(int64_t ms) { return kT0 + absl::Milliseconds(ms); }

PendingRequest Req(int64_t rows, int64_t arrival_ms = 0, uint64_t key = 0, bool delayed = false) {
  PendingRequest request;
  request.rows = rows;
  request.arrival = Ms(arrival_ms);
  request.shape_key = key;
  request.delayed = delayed;
  return request;
}

PendingRequest Delayed(int64_t rows, int64_t arrival_ms = 0) {
  return Req(rows, arrival_ms, /*key=*/0, /*delayed=*/true);
}

BatchPolicyOptions Dynamic(int64_t max_batch_size, std::vector<int64_t> preferred = {},
                           absl::Duration max_queue_delay = absl::Milliseconds(10)) {
  BatchPolicyOptions options;
  options.max_batch_size = max_batch_size;
  options.dynamic_batching = true;
  options.preferred_batch_sizes = std::move(preferred);
  options.max_queue_delay = max_queue_delay;
  return options;
}

std::vector<size_t> Dispatched(const BatchDecision& decision) {
  EXPECT_EQ(decision.kind, Kind::kDispatch);
  return decision.indices;
}

TEST(DecideBatchTest, NothingPendingIsIdle) {
  EXPECT_EQ(DecideBatch({}, Ms(0), Dynamic(8)).kind, Kind::kIdle);
}

TEST(DecideBatchTest, WithoutDynamicBatchingTheOldestGoesAloneAtOnce) {
  BatchPolicyOptions options = Dynamic(8, {2});
  options.dynamic_batching = false;
  std::vector<PendingRequest> pending = {Req(1, 0), Req(1, 1), Req(1, 2)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), options)), ElementsAre(0));
}

TEST(DecideBatchTest, WithoutDynamicBatchingDelayedGoLast) {
  BatchPolicyOptions options;
  std::vector<PendingRequest> pending = {Delayed(1, 0), Req(1, 1)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(1), options)), ElementsAre(1));
  EXPECT_THAT(Dispatched(DecideBatch({Delayed(1, 0)}, Ms(1), options)), ElementsAre(0));
}

TEST(DecideBatchTest, ModelThatDoesNotBatchRunsEachRequestAlone) {
  std::vector<PendingRequest> pending = {Req(1, 0), Req(1, 0)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), Dynamic(0))), ElementsAre(0));
}

TEST(DecideBatchTest, PreferredSizeReachedGoesAtOnce) {
  std::vector<PendingRequest> pending = {Req(1, 0), Req(1, 1), Req(1, 2)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(2), Dynamic(8, {2}))), ElementsAre(0, 1));
}

TEST(DecideBatchTest, LargestPreferredPrefixWins) {
  // Cumulative rows 1, 2, 4, 5: the prefixes of 2 and 4 rows are preferred.
  std::vector<PendingRequest> pending = {Req(1), Req(1), Req(2), Req(1)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), Dynamic(8, {2, 4}))), ElementsAre(0, 1, 2));
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), Dynamic(8, {4, 2}))), ElementsAre(0, 1, 2));
}

TEST(DecideBatchTest, SingleRequestOfPreferredSizeGoesAlone) {
  std::vector<PendingRequest> pending = {Req(3), Req(1)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), Dynamic(8, {3}))), ElementsAre(0));
}

TEST(DecideBatchTest, PreferredSizeSteppedOverWaits) {
  // Cumulative rows 3, 6: neither is preferred, and 6 rows are not full.
  std::vector<PendingRequest> pending = {Req(3, 0), Req(3, 1)};
  BatchDecision decision = DecideBatch(pending, Ms(5), Dynamic(8, {4}));
  EXPECT_EQ(decision.kind, Kind::kWait);
  EXPECT_EQ(decision.wait_until, Ms(10));
}

TEST(DecideBatchTest, WithoutPreferredSizesMaxBatchSizeIsPreferred) {
  std::vector<PendingRequest> pending = {Req(2), Req(2), Req(1)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), Dynamic(4))), ElementsAre(0, 1));
}

TEST(DecideBatchTest, FullWhenTheNextRequestDoesNotFit) {
  // 3 + 3 > 5: the batch cannot grow, so it goes although no preferred size was reached.
  std::vector<PendingRequest> pending = {Req(3, 0), Req(3, 1)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(1), Dynamic(5, {4}))), ElementsAre(0));
}

TEST(DecideBatchTest, FullWhenRowsReachMaxBatchSize) {
  std::vector<PendingRequest> pending = {Req(2), Req(3)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), Dynamic(5, {4}))), ElementsAre(0, 1));
}

TEST(DecideBatchTest, GatheringStopsAtTheFirstRequestThatDoesNotFit) {
  // The third request would fit after the second, but gathering never skips a misfit.
  std::vector<PendingRequest> pending = {Req(2), Req(3), Req(1)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), Dynamic(4, {4}))), ElementsAre(0));
}

TEST(DecideBatchTest, WaitsUntilTheOldestHasWaitedMaxQueueDelay) {
  std::vector<PendingRequest> pending = {Req(1, 0), Req(1, 4)};
  BatchDecision decision = DecideBatch(pending, Ms(4), Dynamic(8));
  EXPECT_EQ(decision.kind, Kind::kWait);
  EXPECT_EQ(decision.wait_until, Ms(10));

  decision = DecideBatch(pending, Ms(10) - absl::Nanoseconds(1), Dynamic(8));
  EXPECT_EQ(decision.kind, Kind::kWait);
  EXPECT_EQ(decision.wait_until, Ms(10));
}

TEST(DecideBatchTest, DelayExpiredDispatchesWhatThereIs) {
  std::vector<PendingRequest> pending = {Req(1, 0), Req(2, 4)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(10), Dynamic(8))), ElementsAre(0, 1));
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(99), Dynamic(8))), ElementsAre(0, 1));
}

TEST(DecideBatchTest, ZeroDelayDispatchesAtOnce) {
  std::vector<PendingRequest> pending = {Req(1, 0)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(0), Dynamic(8, {4}, absl::ZeroDuration()))),
              ElementsAre(0));
}

TEST(DecideBatchTest, OnlyRequestsWithTheSameShapeKeyShareABatch) {
  std::vector<PendingRequest> pending = {Req(1, 0, 7), Req(1, 1, 9), Req(1, 2, 7)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(2), Dynamic(2))), ElementsAre(0, 2));
}

TEST(DecideBatchTest, ALaterShapeWaitsBehindTheOldest) {
  std::vector<PendingRequest> pending = {Req(1, 0, 7), Req(2, 1, 9)};
  BatchDecision decision = DecideBatch(pending, Ms(1), Dynamic(2));
  EXPECT_EQ(decision.kind, Kind::kWait);
  EXPECT_EQ(decision.wait_until, Ms(10));
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(10), Dynamic(2))), ElementsAre(0));
}

TEST(DecideBatchTest, DelayedRequestsWaitWhileOthersArePending) {
  std::vector<PendingRequest> pending = {Delayed(1, 0), Req(1, 5), Delayed(1, 6), Req(1, 7)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(20), Dynamic(8))), ElementsAre(1, 3));
  // The wait is measured from the oldest request that is not delayed.
  BatchDecision decision = DecideBatch(pending, Ms(7), Dynamic(8));
  EXPECT_EQ(decision.kind, Kind::kWait);
  EXPECT_EQ(decision.wait_until, Ms(15));
}

TEST(DecideBatchTest, DelayedRequestsBatchTogetherWhenAloneInTheQueue) {
  std::vector<PendingRequest> pending = {Delayed(1, 0), Delayed(2, 1), Delayed(1, 2)};
  EXPECT_THAT(Dispatched(DecideBatch(pending, Ms(20), Dynamic(3))), ElementsAre(0, 1));
}

// Every queue of up to four requests (rows 1..3, two shapes, delayed or not) at three moments:
// the answer always obeys the invariants the batcher relies on.
TEST(DecideBatchTest, InvariantsHoldForEverySmallQueue) {
  const std::vector<BatchPolicyOptions> all_options = {
      Dynamic(4), Dynamic(4, {2}), Dynamic(5, {2, 4}), Dynamic(3, {1, 3}, absl::ZeroDuration())};
  int checked = 0;
  for (const BatchPolicyOptions& options : all_options) {
    for (int size = 1; size <= 4; ++size) {
      const int variants = 1 << (4 * size);  // 2 bits of rows, 1 of key, 1 of delayed each
      for (int code = 0; code < variants; ++code) {
        std::vector<PendingRequest> pending;
        bool valid = true;
        for (int i = 0; i < size; ++i) {
          int bits = (code >> (4 * i)) & 0xF;
          int64_t rows = bits & 0x3;
          if (rows == 0) valid = false;
          pending.push_back(Req(rows, i, (bits >> 2) & 1, (bits >> 3) & 1));
        }
        if (!valid) continue;
        for (absl::Time now : {Ms(3), Ms(9), Ms(30)}) {
          BatchDecision decision = DecideBatch(pending, now, options);
          ++checked;
          if (decision.kind == Kind::kWait) {
            EXPECT_GT(decision.wait_until, now);
            continue;
          }
          ASSERT_EQ(decision.kind, Kind::kDispatch);
          ASSERT_FALSE(decision.indices.empty());
          const PendingRequest& first = pending[decision.indices[0]];
          bool any_undelayed = false;
          for (const PendingRequest& request : pending) any_undelayed |= !request.delayed;
          EXPECT_EQ(first.delayed, !any_undelayed);
          int64_t rows = 0;
          for (size_t k = 0; k < decision.indices.size(); ++k) {
            const PendingRequest& member = pending[decision.indices[k]];
            if (k > 0) {
              EXPECT_GT(decision.indices[k], decision.indices[k - 1]);
            }
            EXPECT_EQ(member.shape_key, first.shape_key);
            EXPECT_EQ(member.delayed, first.delayed);
            rows += member.rows;
          }
          EXPECT_LE(rows, options.max_batch_size);
        }
      }
    }
  }
  EXPECT_GT(checked, 10'000);
}

TEST(ValidateBatchPolicyOptionsTest, AcceptsDefaultsAndSaneOptions) {
  EXPECT_TRUE(ValidateBatchPolicyOptions(BatchPolicyOptions()).ok());
  EXPECT_TRUE(ValidateBatchPolicyOptions(Dynamic(8, {2, 8})).ok());
}

TEST(ValidateBatchPolicyOptionsTest, RejectsBadOptionsWithTheirValues) {
  BatchPolicyOptions options = Dynamic(-1);
  EXPECT_EQ(ValidateBatchPolicyOptions(options).message(), "max_batch_size must be >= 0; was -1");
  EXPECT_THAT(ValidateBatchPolicyOptions(Dynamic(8, {0})).message(),
              HasSubstr("preferred_batch_sizes must be positive; one was 0"));
  EXPECT_THAT(ValidateBatchPolicyOptions(Dynamic(8, {4, 9})).message(),
              HasSubstr("preferred_batch_sizes must be <= max_batch_size (8); one was 9"));
  EXPECT_THAT(ValidateBatchPolicyOptions(Dynamic(8, {}, absl::Milliseconds(-1))).message(),
              HasSubstr("max_queue_delay must be finite and >= 0; was -1ms"));
  options = Dynamic(8);
  options.min_saving = 1;
  EXPECT_EQ(ValidateBatchPolicyOptions(options).message(), "min_saving must be in [0, 1); was 1");
  options.min_saving = -0.5;
  EXPECT_EQ(ValidateBatchPolicyOptions(options).message(),
            "min_saving must be in [0, 1); was -0.5");
}

InferenceRequest WithShapes(std::vector<std::vector<int64_t>> shapes) {
  InferenceRequest request;
  for (auto& shape : shapes) {
    InputTensor input;
    input.shape = std::move(shape);
    request.inputs.push_back(std::move(input));
  }
  return request;
}

uint64_t Key(std::vector<std::vector<int64_t>> shapes, bool has_batch_dim = true,
             const std::vector<std::vector<int>>& padded_dims = {}) {
  return ShapeOf(WithShapes(std::move(shapes)), has_batch_dim, padded_dims).key;
}

TEST(ShapeOfTest, WithoutPaddingIgnoresOnlyTheBatchDimension) {
  const uint64_t key = Key({{2, 80, 100}, {2}});
  EXPECT_EQ(Key({{3, 80, 100}, {3}}), key);
  EXPECT_NE(Key({{2, 80, 101}, {2}}), key);
  EXPECT_NE(Key({{2, 80, 100}}), key);
  EXPECT_NE(Key({{2, 80, 100}, {2, 1}}), key);
  EXPECT_NE(Key({{2, 80}, {2}}, false), Key({{3, 80}, {3}}, false));
  EXPECT_EQ(ShapeOf(WithShapes({{2, 80, 100}}), true, {}).length, 0);
}

TEST(ShapeOfTest, PaddedDimensionsMayDifferAndGiveTheLength) {
  // Input 0 is padded along dimension 2 ([batch, 80, -1]); input 1 is not.
  const std::vector<std::vector<int>> padded = {{2}};
  const uint64_t key = Key({{1, 80, 100}, {1, 4}}, true, padded);
  EXPECT_EQ(Key({{2, 80, 37}, {2, 4}}, true, padded), key);
  EXPECT_NE(Key({{1, 81, 100}, {1, 4}}, true, padded), key);  // a fixed dimension differs
  EXPECT_NE(Key({{1, 80, 100}, {1, 5}}, true, padded), key);  // an unpadded input differs
  EXPECT_EQ(ShapeOf(WithShapes({{1, 80, 37}, {1, 4}}), true, padded).length, 37);
  // Two padded inputs: the length is the larger product of their variable dimensions.
  EXPECT_EQ(ShapeOf(WithShapes({{1, 3, 5}, {1, 20}}), true, {{1, 2}, {1}}).length, 20);
  EXPECT_EQ(ShapeOf(WithShapes({{1, 3, 9}, {1, 20}}), true, {{1, 2}, {1}}).length, 27);
}

}  // namespace
}  // namespace speech
