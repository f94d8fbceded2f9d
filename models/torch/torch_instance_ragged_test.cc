// TorchInstance with variable-length batching: requests of different lengths padded into one
// batch, the lengths the server passes as batch inputs, and every output cut back to its own
// request's length (from an input's shape, or from a lengths output).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/torch/tensors/ragged_batch.h"
#include "models/torch/torch_instance.h"
#include "models/torch/torch_test_support.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// x [B, T] padded with -1; lengths [B, 1] the server's count of real elements. The model checks
// the padding it was given, doubles x, and returns per-item sums over real elements only, a
// lengths output (T - 1 per item) and an output cut by it.
constexpr char kModule[] = R"(
def forward(self, x, lengths):
    t = x.size(1)
    positions = torch.arange(t).unsqueeze(0)
    real = positions < lengths
    padding_ok = torch.all(torch.where(real, torch.ones_like(x), x + 2.0) == 1.0)
    doubled = torch.where(real, x * 2.0, torch.zeros_like(x))
    sums = torch.sum(doubled, 1, keepdim=True) * padding_ok.float()
    shorter = lengths - 1
    return doubled, sums, shorter, doubled[:, 1:]
)";

// clang-format off
constexpr char kConfig[] = R"pb(
  name: "ragged"
  max_batch_size: 8
  input { name: "X" data_type: TYPE_FP32 dims: [ -1 ] ragged_padding { pad_value: -1 } }
  output { name: "DOUBLED" data_type: TYPE_FP32 dims: [ -1 ] }
  output { name: "SUM" data_type: TYPE_FP32 dims: [ 1 ] }
  output { name: "SHORTER_LENGTHS" data_type: TYPE_INT64 dims: [ 1 ] }
  output { name: "SHORTER" data_type: TYPE_FP32 dims: [ -1 ] }
  batch_input { kind: BATCH_ELEMENT_COUNT target_name: "X_LENGTHS" data_type: TYPE_INT64
                source_input: "X" }
  batch_output { kind: BATCH_SCATTER_WITH_INPUT_SHAPE target_name: "DOUBLED" source_input: "X" }
  batch_output { kind: BATCH_SCATTER_WITH_OUTPUT_LENGTHS target_name: "SHORTER"
                 source_output: "SHORTER_LENGTHS" }
)pb";
// clang-format on

std::unique_ptr<InferenceRequest> Request(int64_t rows, int64_t length, float start) {
  std::unique_ptr<InferenceRequest> request = std::make_unique<InferenceRequest>();
  AddInput(*request, "X", inference::TYPE_FP32, {rows, length}, Iota(rows * length, start));
  return request;
}

std::vector<float> Doubled(std::vector<float> values) {
  for (float& v : values) v *= 2;
  return values;
}

class TorchInstanceRaggedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    instance_ = MustCreate(Options(SaveModule("ragged.pt", kModule), ParseConfig(kConfig)));
    ASSERT_NE(instance_, nullptr);
  }
  std::unique_ptr<TorchInstance> instance_;
};

TEST_F(TorchInstanceRaggedTest, RequestsOfDifferentLengthsShareABatchAndGetTheirOwnLengths) {
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(Request(1, 3, 1));
  requests.push_back(Request(2, 5, 10));
  requests.push_back(Request(1, 1, 100));
  ASSERT_TRUE(Execute(*instance_, requests).ok());

  const InferenceRequest& a = *requests[0];
  ASSERT_EQ(a.outputs.size(), 4u);
  EXPECT_THAT(a.outputs[0].shape, ElementsAre(1, 3));
  EXPECT_THAT(Values<float>(a.outputs[0]), ElementsAre(2, 4, 6));
  EXPECT_THAT(Values<float>(a.outputs[1]), ElementsAre(12));  // padding was -1, as configured
  EXPECT_THAT(Values<int64_t>(a.outputs[2]), ElementsAre(2));
  EXPECT_THAT(a.outputs[3].shape, ElementsAre(1, 2));
  EXPECT_THAT(Values<float>(a.outputs[3]), ElementsAre(4, 6));

  const InferenceRequest& b = *requests[1];
  EXPECT_THAT(b.outputs[0].shape, ElementsAre(2, 5));
  EXPECT_THAT(Values<float>(b.outputs[0]), ElementsAreArray(Doubled(Iota(10, 10))));
  EXPECT_THAT(b.outputs[3].shape, ElementsAre(2, 4));

  const InferenceRequest& c = *requests[2];
  EXPECT_THAT(c.outputs[0].shape, ElementsAre(1, 1));
  EXPECT_THAT(Values<float>(c.outputs[0]), ElementsAre(200));
  EXPECT_THAT(c.outputs[3].shape, ElementsAre(1, 0));

  // 3 + 10 + 1 real elements in a [4, 5] padded batch.
  EXPECT_EQ(a.executed_real_elements, 14);
  EXPECT_EQ(a.executed_padded_elements, 20);
  EXPECT_EQ(a.executed_batch_rows, 4);
}

TEST_F(TorchInstanceRaggedTest, ALoneRequestEqualsItsBatchedSelf) {
  std::vector<std::unique_ptr<InferenceRequest>> alone;
  alone.push_back(Request(1, 3, 1));
  ASSERT_TRUE(Execute(*instance_, alone).ok());
  std::vector<std::unique_ptr<InferenceRequest>> batched;
  batched.push_back(Request(1, 7, 50));
  batched.push_back(Request(1, 3, 1));
  ASSERT_TRUE(Execute(*instance_, batched).ok());
  for (size_t j = 0; j < alone[0]->outputs.size(); ++j) {
    EXPECT_EQ(alone[0]->outputs[j].shape, batched[1]->outputs[j].shape) << j;
    EXPECT_EQ(alone[0]->outputs[j].data, batched[1]->outputs[j].data) << j;
  }
  EXPECT_EQ(alone[0]->executed_padded_elements, 3);
}

TEST(BucketedSizeTest, RoundsUpToAPowerOfTwoStepWithinTheFraction) {
  EXPECT_EQ(BucketedSize(13, 0, 0), 13);     // no buckets
  EXPECT_EQ(BucketedSize(13, 0.25, 0), 14);  // 0.25 * 13 = 3.25: steps of 2
  EXPECT_EQ(BucketedSize(16, 0.25, 0), 16);  // already a multiple of 4
  EXPECT_EQ(BucketedSize(17, 0.25, 0), 20);  // steps of 4
  EXPECT_EQ(BucketedSize(3, 0.25, 0), 3);    // a step of 1 below 8
  EXPECT_EQ(BucketedSize(0, 0.5, 0), 0);
  // 26,315 samples with 1/16: steps of 1,024, so at most 6.25 % more.
  EXPECT_EQ(BucketedSize(26315, 0.0625, 0), 26624);
  EXPECT_EQ(BucketedSize(37, 0.25, 38), 38);  // 40 would pass the cap
  EXPECT_EQ(BucketedSize(39, 0.25, 38), 39);  // already past it: unchanged
  for (int64_t n = 1; n < 5000; ++n) {
    const int64_t b = BucketedSize(n, 0.0625, 0);
    ASSERT_GE(b, n);
    ASSERT_LE(static_cast<double>(b - n), 0.0625 * n) << n;
  }
}

// kModule saved as `file`, its input padded to buckets of a quarter of the longest item.
std::unique_ptr<TorchInstance> WithQuarterBuckets(const std::string& file) {
  inference::ModelConfig config = ParseConfig(kConfig);
  config.mutable_input(0)->mutable_ragged_padding()->set_bucket_fraction(0.25);
  return MustCreate(Options(SaveModule(file, kModule), config));
}

// The same model with buckets: the batch is padded past its longest item, the model still sees
// the true lengths, and every output is cut back as without buckets.
TEST(TorchInstanceRaggedBucketTest, BucketsPadFurtherAndCutTheSame) {
  std::unique_ptr<TorchInstance> bucketed = WithQuarterBuckets("ragged_bucketed.pt");
  ASSERT_NE(bucketed, nullptr);
  std::unique_ptr<TorchInstance> plain =
      MustCreate(Options(SaveModule("ragged_plain.pt", kModule), ParseConfig(kConfig)));
  ASSERT_NE(plain, nullptr);
  auto batch = [] {
    std::vector<std::unique_ptr<InferenceRequest>> requests;
    requests.push_back(Request(1, 13, 1));
    requests.push_back(Request(1, 5, 50));
    return requests;
  };
  std::vector<std::unique_ptr<InferenceRequest>> with = batch();
  ASSERT_TRUE(Execute(*bucketed, with).ok());
  std::vector<std::unique_ptr<InferenceRequest>> without = batch();
  ASSERT_TRUE(Execute(*plain, without).ok());
  EXPECT_EQ(with[0]->executed_padded_elements, 2 * 14);  // 13 rounded up to a step of 2
  EXPECT_EQ(without[0]->executed_padded_elements, 2 * 13);
  // A lone request is padded to its bucket too (without buckets it runs on its own bytes).
  std::vector<std::unique_ptr<InferenceRequest>> alone;
  alone.push_back(Request(1, 13, 1));
  ASSERT_TRUE(Execute(*bucketed, alone).ok());
  EXPECT_EQ(alone[0]->executed_padded_elements, 14);
  EXPECT_EQ(alone[0]->outputs[0].data, without[0]->outputs[0].data);
  EXPECT_EQ(alone[0]->outputs[1].data, without[0]->outputs[1].data);
  EXPECT_EQ(alone[0]->outputs[3].data, without[0]->outputs[3].data);
  for (size_t r = 0; r < with.size(); ++r) {
    ASSERT_EQ(with[r]->outputs.size(), 4u);
    // DOUBLED, SUM (the model checked the padding), SHORTER_LENGTHS and SHORTER: all as without.
    for (int j : {0, 1, 2, 3}) {
      EXPECT_EQ(with[r]->outputs[j].shape, without[r]->outputs[j].shape) << r << " " << j;
      EXPECT_EQ(with[r]->outputs[j].data, without[r]->outputs[j].data) << r << " " << j;
    }
  }
}

// Buckets are for lengths that do not come back; a batch shape that does (the same rows and
// longest item) runs at its own size the second time, with the same outputs.
TEST(TorchInstanceRaggedBucketTest, AShapeThatComesBackRunsAtItsOwnSize) {
  std::unique_ptr<TorchInstance> instance = WithQuarterBuckets("ragged_recurring.pt");
  ASSERT_NE(instance, nullptr);
  auto run = [&](std::vector<std::pair<int64_t, float>> items) {
    std::vector<std::unique_ptr<InferenceRequest>> requests;
    for (const auto& [length, value] : items) requests.push_back(Request(1, length, value));
    EXPECT_TRUE(Execute(*instance, requests).ok());
    return requests;
  };
  auto first = run({{13, 1}});
  EXPECT_EQ(first[0]->executed_padded_elements, 14);  // its bucket
  auto again = run({{13, 2}});
  EXPECT_EQ(again[0]->executed_padded_elements, 13);  // its own bytes
  auto pair = run({{13, 1}, {5, 3}});
  EXPECT_EQ(pair[0]->executed_padded_elements, 2 * 14);  // two rows: a new shape
  auto pair_again = run({{5, 4}, {13, 1}});
  EXPECT_EQ(pair_again[0]->executed_padded_elements, 2 * 13);
  for (size_t j = 0; j < first[0]->outputs.size(); ++j) {
    EXPECT_EQ(pair_again[1]->outputs[j].shape, first[0]->outputs[j].shape) << j;
    EXPECT_EQ(pair_again[1]->outputs[j].data, first[0]->outputs[j].data) << j;
  }
  // Lengths that never come back keep their buckets.
  for (int64_t length : {17, 18, 19}) {
    EXPECT_EQ(run({{length, 1}})[0]->executed_padded_elements, 20) << length;
  }
}

TEST(TorchInstanceRaggedCreateTest, ForwardMustTakeTheBatchInputsToo) {
  absl::StatusOr<std::unique_ptr<TorchInstance>> instance = TorchInstance::Create(Options(
      SaveModule("one_arg.pt", "def forward(self, x):\n    return x\n"), ParseConfig(kConfig)));
  EXPECT_EQ(instance.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(instance.status().message()),
              ::testing::HasSubstr("lists 2 (inputs, then batch inputs)"));
}

TEST(TorchInstanceRaggedCreateTest, ALengthBeyondTheOutputIsAnInternalError) {
  constexpr char kLiar[] = R"(
def forward(self, x, lengths):
    return x, lengths + 100
)";
  // clang-format off
  constexpr char kLiarConfig[] = R"pb(
    name: "liar"
    max_batch_size: 8
    input { name: "X" data_type: TYPE_FP32 dims: [ -1 ] ragged_padding { pad_value: 0 } }
    output { name: "Y" data_type: TYPE_FP32 dims: [ -1 ] }
    output { name: "Y_LENGTHS" data_type: TYPE_INT64 dims: [ 1 ] }
    batch_input { kind: BATCH_ELEMENT_COUNT target_name: "L" data_type: TYPE_INT64
                  source_input: "X" }
    batch_output { kind: BATCH_SCATTER_WITH_OUTPUT_LENGTHS target_name: "Y"
                   source_output: "Y_LENGTHS" }
  )pb";
  // clang-format on
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(SaveModule("liar.pt", kLiar), ParseConfig(kLiarConfig)));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(Request(1, 3, 1));
  ExpectInternal(Execute(*instance, requests), {kInstanceName, "output 'Y'", "to 103"});
}

}  // namespace
}  // namespace speech
