// CheckElementLimits over request shapes (no tensor is decoded) and InputBytes.
#include "server/core/decode/request_limits.h"

#include <cstdint>
#include <initializer_list>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

void AddInput(inference::ModelInferRequest* message, const std::string& name,
              std::initializer_list<int64_t> shape) {
  auto* input = message->add_inputs();
  input->set_name(name);
  input->set_datatype("FP32");
  for (int64_t dim : shape) input->add_shape(dim);
}

RequestLimits Limits(int64_t per_input, int64_t per_request) {
  RequestLimits limits;
  limits.max_input_elements = per_input;
  limits.max_request_elements = per_request;
  return limits;
}

TEST(CheckElementLimitsTest, AcceptsInputsAtTheLimits) {
  inference::ModelInferRequest message;
  AddInput(&message, "A", {2, 50});
  AddInput(&message, "B", {100});
  EXPECT_TRUE(CheckElementLimits(message, Limits(100, 200)).ok());
}

TEST(CheckElementLimitsTest, RefusesAnInputOverTheLimitNamingItAndTheFlag) {
  inference::ModelInferRequest message;
  AddInput(&message, "A", {10});
  AddInput(&message, "AUDIO", {3, 34});
  const absl::Status status = CheckElementLimits(message, Limits(100, 1000));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("input 'AUDIO' has 102 elements"));
  EXPECT_THAT(status.message(), HasSubstr("the limit is 100 per input (--max-input-elements)"));
}

TEST(CheckElementLimitsTest, RefusesARequestWhoseInputsTogetherPassTheLimit) {
  inference::ModelInferRequest message;
  AddInput(&message, "A", {60});
  AddInput(&message, "B", {60});
  const absl::Status status = CheckElementLimits(message, Limits(100, 100));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("120 elements together"));
  EXPECT_THAT(status.message(), HasSubstr("100 per request (--max-request-elements)"));
}

TEST(CheckElementLimitsTest, OverflowingShapesSaturateInsteadOfWrapping) {
  inference::ModelInferRequest message;
  // 2^32 * 2^32 wraps to 0 in 64 bits; it must count as too many.
  AddInput(&message, "HUGE", {int64_t{1} << 32, int64_t{1} << 32});
  const absl::Status status = CheckElementLimits(message, Limits(100, 100));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("'HUGE' has more than 9223372036854775807 elements"));
}

TEST(CheckElementLimitsTest, ZeroTurnsALimitOffAndNegativeDimsAreLeftToTheDecoder) {
  inference::ModelInferRequest message;
  AddInput(&message, "A", {1000, 1000});
  AddInput(&message, "B", {-1, 5});
  EXPECT_TRUE(CheckElementLimits(message, Limits(0, 0)).ok());
  EXPECT_FALSE(CheckElementLimits(message, Limits(0, 999)).ok());
}

TEST(InputBytesTest, SumsTheInputsByteSizes) {
  InferenceRequest request;
  request.inputs.resize(2);
  request.inputs[0].byte_size = 12;
  request.inputs[1].byte_size = 30;
  EXPECT_EQ(InputBytes(request), 42);
}

}  // namespace
}  // namespace speech
