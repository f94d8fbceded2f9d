// DecodeInferRequest on what a request names and shapes: inputs and requested outputs, datatypes,
// shapes and batch sizes, each refused with a clear error, and the "timeout" parameter.
#include "server/core/decode/tensor_codec.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "batcher/request.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.pb.h"
#include "proto/model_config.pb.h"
#include "server/core/decode/codec_test_support.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// ---- Successful decoding ----

TEST(DecodeInferRequestTest, RawInputsBorrowTheMessageBytes) {
  const inference::ModelConfig config = BatchingConfig();
  const inference::ModelInferRequest message = BatchingRequest(2);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  ASSERT_EQ(request.inputs.size(), 2u);
  EXPECT_EQ(request.inputs[0].data, message.raw_input_contents(0).data());
  EXPECT_EQ(request.inputs[0].byte_size, message.raw_input_contents(0).size());
  EXPECT_EQ(request.inputs[1].data, message.raw_input_contents(1).data());
  EXPECT_EQ(request.inputs[1].byte_size, message.raw_input_contents(1).size());
  EXPECT_TRUE(request.owned_data.empty());
}

TEST(DecodeInferRequestTest, FillsNamesTypesShapesAndBatchRows) {
  const inference::ModelConfig config = BatchingConfig();
  const inference::ModelInferRequest message = BatchingRequest(3);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.batch_rows, 3);
  ASSERT_EQ(request.inputs.size(), 2u);
  EXPECT_EQ(request.inputs[0].name, "AUDIO");
  EXPECT_EQ(request.inputs[0].type, inference::TYPE_FP32);
  EXPECT_THAT(request.inputs[0].shape, ElementsAre(3, 3));
  EXPECT_EQ(TensorBytes(request.inputs[0]), Bytes(std::vector<float>(9, 0.5f)));
  EXPECT_EQ(request.inputs[1].name, "LENGTH");
  EXPECT_EQ(request.inputs[1].type, inference::TYPE_INT32);
  EXPECT_THAT(request.inputs[1].shape, ElementsAre(3, 1));
  EXPECT_EQ(TensorBytes(request.inputs[1]), Bytes(std::vector<int32_t>(3, 3)));
}

TEST(DecodeInferRequestTest, InputsFollowTheConfigurationOrder) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message;
  AddInput(&message, "LENGTH", "INT32", {1, 1});
  AddInput(&message, "AUDIO", "FP32", {1, 2});
  message.add_raw_input_contents(Bytes(std::vector<int32_t>{2}));
  message.add_raw_input_contents(Bytes(std::vector<float>{1.5f, -2.5f}));
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  ASSERT_EQ(request.inputs.size(), 2u);
  EXPECT_EQ(request.inputs[0].name, "AUDIO");
  EXPECT_THAT(request.inputs[0].shape, ElementsAre(1, 2));
  EXPECT_EQ(request.inputs[0].data, message.raw_input_contents(1).data());
  EXPECT_EQ(TensorBytes(request.inputs[0]), Bytes(std::vector<float>{1.5f, -2.5f}));
  EXPECT_EQ(request.inputs[1].name, "LENGTH");
  EXPECT_EQ(request.inputs[1].data, message.raw_input_contents(0).data());
  EXPECT_EQ(TensorBytes(request.inputs[1]), Bytes(std::vector<int32_t>{2}));
}

TEST(DecodeInferRequestTest, ModelThatDoesNotBatchHasOneRow) {
  const inference::ModelConfig config = PlainConfig();
  const inference::ModelInferRequest message = PlainRequest();
  InferenceRequest request;
  request.batch_rows = 7;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.batch_rows, 1);
  ASSERT_EQ(request.inputs.size(), 1u);
  EXPECT_THAT(request.inputs[0].shape, ElementsAre(2, 3));
}

TEST(DecodeInferRequestTest, VariableDimensionTakesAnySize) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message;
  AddInput(&message, "AUDIO", "FP32", {1, 17});
  AddInput(&message, "LENGTH", "INT32", {1, 1});
  message.add_raw_input_contents(Bytes(std::vector<float>(17, 1.0f)));
  message.add_raw_input_contents(Bytes(std::vector<int32_t>{17}));
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_THAT(request.inputs[0].shape, ElementsAre(1, 17));
  EXPECT_EQ(request.inputs[0].byte_size, 17 * sizeof(float));
}

TEST(DecodeInferRequestTest, CopiesTheId) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  message.set_id("utterance-42");
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.id, "utterance-42");
}

TEST(DecodeInferRequestTest, KnownRequestedOutputsAreAccepted) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.add_outputs()->set_name("TEXT_LENGTH");
  message.add_outputs()->set_name("TEXT");
  EXPECT_TRUE(Decode(message, config).ok());
}

// ---- Validation: names ----

TEST(DecodeInferRequestTest, UnknownInputIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  AddInput(&message, "SPEAKER", "INT32", {1, 1});
  message.add_raw_input_contents(Bytes(std::vector<int32_t>{0}));
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("unexpected input 'SPEAKER'"), HasSubstr("model 'asr'"),
                             HasSubstr("expects [AUDIO, LENGTH]"))));
}

TEST(DecodeInferRequestTest, MissingInputIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message;
  AddInput(&message, "AUDIO", "FP32", {1, 3});
  message.add_raw_input_contents(Bytes(std::vector<float>(3, 0.0f)));
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'LENGTH' is missing"), HasSubstr("model 'asr'"),
                             HasSubstr("expects [AUDIO, LENGTH]"))));
}

TEST(DecodeInferRequestTest, NoInputsAtAllIsRefused) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message;
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input 'X' is missing")));
}

// Each copy is valid on its own, so only the repetition check can refuse the request.
TEST(DecodeInferRequestTest, InputGivenTwiceIsRefused) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  const InputMessage x = message.inputs(0);
  *message.add_inputs() = x;
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input 'X' is given twice")));
}

TEST(DecodeInferRequestTest, InputGivenTwiceInRawContentsIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  const InputMessage length = message.inputs(1);
  const std::string length_bytes = message.raw_input_contents(1);
  *message.add_inputs() = length;
  message.add_raw_input_contents(length_bytes);
  EXPECT_THAT(Decode(message, config), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("input 'LENGTH' is given twice")));
}

TEST(DecodeInferRequestTest, UnknownRequestedOutputIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.add_outputs()->set_name("TEXT");
  message.add_outputs()->set_name("LOGITS");
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("unknown output 'LOGITS'"), HasSubstr("model 'asr'"),
                             HasSubstr("has outputs [TEXT, TEXT_LENGTH]"))));
}

TEST(DecodeInferRequestTest, OutputRequestedTwiceIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.add_outputs()->set_name("TEXT");
  message.add_outputs()->set_name("TEXT_LENGTH");
  message.add_outputs()->set_name("TEXT");
  EXPECT_THAT(Decode(message, config), StatusIs(absl::StatusCode::kInvalidArgument,
                                                HasSubstr("output 'TEXT' is requested twice")));
}

TEST(DecodeInferRequestTest, ClassificationOfAnOutputIsUnimplemented) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  auto* output = message.add_outputs();
  output->set_name("TEXT");
  (*output->mutable_parameters())["classification"].set_int64_param(3);
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kUnimplemented,
                       HasSubstr("output 'TEXT': the classification extension is not supported")));
}

// ---- Validation: datatypes ----

TEST(DecodeInferRequestTest, WrongDatatypeIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.mutable_inputs(0)->set_datatype("FP64");
  message.set_raw_input_contents(0, Bytes(std::vector<double>(3, 0.0)));
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'AUDIO'"), HasSubstr("datatype 'FP64'"),
                             HasSubstr("does not match FP32"))));
}

TEST(DecodeInferRequestTest, UnknownDatatypeNameIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.mutable_inputs(1)->set_datatype("int32");
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'LENGTH'"), HasSubstr("datatype 'int32'"),
                             HasSubstr("does not match INT32"))));
}

TEST(DecodeInferRequestTest, TypedContentsOfATypeWithoutFieldAreRefused) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_FP16);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "FP16", {2});
  x->mutable_contents()->add_fp32_contents(1.0f);
  x->mutable_contents()->add_fp32_contents(2.0f);
  EXPECT_THAT(
      Decode(message, config),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("input 'X'"), HasSubstr("datatype FP16"),
                     HasSubstr("no typed contents field"), HasSubstr("raw_input_contents"))));
}

// ---- Validation: shapes ----

TEST(DecodeInferRequestTest, ShapeNotMatchingDimsWithBatchDimensionIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.mutable_inputs(1)->set_shape(1, 2);
  message.set_raw_input_contents(1, Bytes(std::vector<int32_t>{3, 3}));
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'LENGTH'"), HasSubstr("shape [1, 2]"),
                             HasSubstr("does not match [-1, 1] (batch dimension first)"))));
}

TEST(DecodeInferRequestTest, ShapeWithoutBatchDimensionIsRefusedByABatchingModel) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.mutable_inputs(1)->clear_shape();
  message.mutable_inputs(1)->add_shape(1);
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'LENGTH'"), HasSubstr("shape [1] does not match"),
                             HasSubstr("[-1, 1]"))));
}

TEST(DecodeInferRequestTest, ShapeNotMatchingDimsWithoutBatchDimensionIsRefused) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  message.mutable_inputs(0)->set_shape(0, 3);
  message.mutable_inputs(0)->set_shape(1, 2);
  EXPECT_THAT(
      Decode(message, config),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("input 'X'"), HasSubstr("shape [3, 2] does not match [2, 3]"),
                     Not(HasSubstr("batch dimension")))));
}

TEST(DecodeInferRequestTest, BatchDimensionIsRefusedByAModelThatDoesNotBatch) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  message.mutable_inputs(0)->clear_shape();
  for (int64_t dim : {1, 2, 3}) message.mutable_inputs(0)->add_shape(dim);
  EXPECT_THAT(
      Decode(message, config),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("input 'X'"), HasSubstr("shape [1, 2, 3] does not match [2, 3]"))));
}

TEST(DecodeInferRequestTest, NegativeDimensionIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.mutable_inputs(0)->set_shape(1, -3);
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'AUDIO'"), HasSubstr("shape [1, -3]"),
                             HasSubstr("negative dimension -3"))));
}

TEST(DecodeInferRequestTest, ElementCountOverflowIsRefused) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_FP32, "[ -1, -1 ]");
  inference::ModelInferRequest message;
  AddInput(&message, "X", "FP32", {int64_t{1} << 62, 4});
  message.add_raw_input_contents(std::string(16, '\0'));
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'X'"), HasSubstr("shape [4611686018427387904, 4]"),
                             HasSubstr("more bytes than 64 bits can count"))));
}

// The element count fits in 64 bits; its bytes (four per element) do not.
TEST(DecodeInferRequestTest, ByteCountOverflowIsRefused) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_FP32, "[ -1, -1 ]");
  inference::ModelInferRequest message;
  AddInput(&message, "X", "FP32", {int64_t{1} << 61, 1});
  message.add_raw_input_contents(std::string(4, '\0'));
  EXPECT_THAT(
      Decode(message, config),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("input 'X'"), HasSubstr("more bytes than 64 bits can count"))));
}

TEST(DecodeInferRequestTest, BatchSizeAboveMaxIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  const inference::ModelInferRequest message = BatchingRequest(5);
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'AUDIO'"), HasSubstr("batch size 5"),
                             HasSubstr("outside [1, max_batch_size = 4]"))));
}

TEST(DecodeInferRequestTest, BatchSizeZeroIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  const inference::ModelInferRequest message = BatchingRequest(0);
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'AUDIO'"), HasSubstr("batch size 0"),
                             HasSubstr("outside [1, max_batch_size = 4]"))));
}

TEST(DecodeInferRequestTest, BatchSizeAtMaxIsAccepted) {
  const inference::ModelConfig config = BatchingConfig();
  const inference::ModelInferRequest message = BatchingRequest(4);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.batch_rows, 4);
}

// Each input is valid on its own (its bytes match its shape), so only the agreement check can
// refuse the request.
TEST(DecodeInferRequestTest, BatchSizeDifferingBetweenInputsIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message;
  AddInput(&message, "AUDIO", "FP32", {2, 3});
  AddInput(&message, "LENGTH", "INT32", {3, 1});
  message.add_raw_input_contents(Bytes(std::vector<float>(6, 0.0f)));
  message.add_raw_input_contents(Bytes(std::vector<int32_t>(3, 3)));
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'LENGTH'"), HasSubstr("batch size 3"),
                             HasSubstr("differs from the other inputs' 2"))));
}

// ---- The "timeout" parameter ----

TEST(DecodeInferRequestTest, NoTimeoutParameterLeavesTheOverrideInfinite) {
  const inference::ModelConfig config = PlainConfig();
  const inference::ModelInferRequest message = PlainRequest();
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.timeout_override, absl::InfiniteDuration());
}

TEST(DecodeInferRequestTest, Int64TimeoutSetsTheOverrideInMicroseconds) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  (*message.mutable_parameters())["timeout"].set_int64_param(1500);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.timeout_override, absl::Microseconds(1500));
}

TEST(DecodeInferRequestTest, Uint64TimeoutSetsTheOverrideInMicroseconds) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  (*message.mutable_parameters())["timeout"].set_uint64_param(2'500'000);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.timeout_override, absl::Seconds(2.5));
}

TEST(DecodeInferRequestTest, ZeroTimeoutLeavesTheOverrideInfinite) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  (*message.mutable_parameters())["timeout"].set_int64_param(0);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.timeout_override, absl::InfiniteDuration());
}

TEST(DecodeInferRequestTest, OtherParametersAreIgnored) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  (*message.mutable_parameters())["priority"].set_int64_param(-1);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.timeout_override, absl::InfiniteDuration());
}

TEST(DecodeInferRequestTest, NegativeTimeoutIsRefused) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  (*message.mutable_parameters())["timeout"].set_int64_param(-5);
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("parameter 'timeout'"),
                             HasSubstr("non-negative int64 number of microseconds"))));
}

TEST(DecodeInferRequestTest, Uint64TimeoutBeyondInt64IsRefused) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  (*message.mutable_parameters())["timeout"].set_uint64_param(std::numeric_limits<uint64_t>::max());
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("parameter 'timeout'")));
}

TEST(DecodeInferRequestTest, TimeoutOfTheWrongTypeIsRefused) {
  const inference::ModelConfig config = PlainConfig();
  for (int choice = 0; choice < 4; ++choice) {
    SCOPED_TRACE(choice);
    inference::ModelInferRequest message = PlainRequest();
    inference::InferParameter& timeout = (*message.mutable_parameters())["timeout"];
    switch (choice) {
      case 0:
        timeout.set_string_param("1000");
        break;
      case 1:
        timeout.set_double_param(1000.0);
        break;
      case 2:
        timeout.set_bool_param(true);
        break;
      case 3:
        break;  // no value at all
    }
    EXPECT_THAT(Decode(message, config),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("parameter 'timeout'"), HasSubstr("int64"))));
  }
}

}  // namespace
}  // namespace speech
