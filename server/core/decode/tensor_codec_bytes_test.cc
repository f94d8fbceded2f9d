// BYTES tensors through the codec: Triton's raw layout (length-prefixed elements) and the typed
// bytes_contents, each validated element by element.
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/bytes_elements.h"
#include "server/core/decode/codec_test_support.h"
#include "server/core/decode/tensor_codec.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

inference::ModelInferRequest RawStrings(const std::vector<std::string>& strings,
                                        std::vector<int64_t> shape) {
  inference::ModelInferRequest message;
  AddInput(&message, "X", "BYTES", std::move(shape));
  message.add_raw_input_contents(PackBytesElements(strings));
  return message;
}

TEST(DecodeBytesTest, RawElementsAreBorrowed) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_STRING, "[ 3 ]");
  const inference::ModelInferRequest message = RawStrings({"hello", "", "wörld"}, {3});
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.inputs[0].type, inference::TYPE_STRING);
  EXPECT_EQ(request.inputs[0].data, message.raw_input_contents(0).data());
  EXPECT_EQ(TensorBytes(request.inputs[0]), message.raw_input_contents(0));
}

TEST(DecodeBytesTest, TypedBytesContentsBecomeTheRawLayout) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_STRING, "[ 2 ]");
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "BYTES", {2});
  x->mutable_contents()->add_bytes_contents("turn left");
  x->mutable_contents()->add_bytes_contents("stop");
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(TensorBytes(request.inputs[0]),
            PackBytesElements(std::vector<std::string>{"turn left", "stop"}));
}

TEST(DecodeBytesTest, ElementCountMustMatchTheShape) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_STRING, "[ 2 ]");
  EXPECT_THAT(Decode(RawStrings({"a", "b", "c"}, {2}), config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'X'"), HasSubstr("holds 3 BYTES elements"),
                             HasSubstr("shape [2] needs 2"))));
  inference::ModelInferRequest typed;
  AddInput(&typed, "X", "BYTES", {2})->mutable_contents()->add_bytes_contents("only one");
  EXPECT_THAT(Decode(typed, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("contents hold 1 values")));
}

TEST(DecodeBytesTest, TruncatedAndOverlongElementsAreRefused) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_STRING, "[ 2 ]");
  inference::ModelInferRequest truncated = RawStrings({"abc", "defg"}, {2});
  truncated.mutable_raw_input_contents(0)->resize(truncated.raw_input_contents(0).size() - 2);
  EXPECT_THAT(Decode(truncated, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 'X': element 1 declares 4 bytes but only 2 remain")));
  inference::ModelInferRequest trailing = RawStrings({"abc", "defg"}, {2});
  trailing.mutable_raw_input_contents(0)->append("\x07\x00", 2);
  EXPECT_THAT(Decode(trailing, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("element 2 has a length prefix cut short")));
}

}  // namespace
}  // namespace speech
