#include "client/tensor_summary.h"

#include <cmath>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

template <typename T>
HostTensor MakeTensor(std::string name, std::string datatype, std::vector<int64_t> shape,
                      const std::vector<T>& values) {
  HostTensor tensor{std::move(name), std::move(datatype), std::move(shape), ""};
  tensor.bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return tensor;
}

TEST(TensorSummaryTest, SummarizesStrings) {
  std::string bytes;
  for (std::string value : {"hello", ""}) {
    const uint32_t length = value.size();
    bytes.append(reinterpret_cast<const char*>(&length), 4);
    bytes.append(value);
  }
  EXPECT_EQ(SummarizeTensor(HostTensor{"TEXT", "BYTES", {2}, bytes}),
            "TEXT BYTES [2]: first [\"hello\", \"\"]");
}

TEST(TensorSummaryTest, SummarizesFp16) {
  const HostTensor tensor = MakeTensor<uint16_t>(
      "OUTPUT0", "FP16", {1, 4},
      {FloatToHalf(0.5f), FloatToHalf(-1.25f), FloatToHalf(2.0f), FloatToHalf(0.75f)});
  EXPECT_EQ(SummarizeTensor(tensor, 3),
            "OUTPUT0 FP16 [1, 4]: min -1.25 max 2 mean 0.5 first [0.5, -1.25, 2, ...]");
}

TEST(TensorSummaryTest, SummarizesIntegersBoolsNansAndInvalidTensors) {
  EXPECT_EQ(SummarizeTensor(MakeTensor<int32_t>("IDS", "INT32", {3}, {5, -3, 10})),
            "IDS INT32 [3]: min -3 max 10 mean 4 first [5, -3, 10]");
  EXPECT_EQ(SummarizeTensor(MakeTensor<uint8_t>("MASK", "BOOL", {4}, {1, 0, 0, 1})),
            "MASK BOOL [4]: min 0 max 1 mean 0.5 first [1, 0, 0, 1]");
  EXPECT_EQ(SummarizeTensor(MakeTensor<float>("X", "FP32", {2}, {NAN, 1.0f})),
            "X FP32 [2]: min 1 max 1 mean 1 nan 1 first [nan, 1]");
  EXPECT_EQ(SummarizeTensor(MakeTensor<float>("E", "FP32", {0, 3}, {})), "E FP32 [0, 3]: empty");
  EXPECT_THAT(SummarizeTensor(MakeTensor<float>("B", "FP32", {3}, {1.0f})),
              HasSubstr("B FP32 [3]: invalid"));
}

}  // namespace
}  // namespace speech
