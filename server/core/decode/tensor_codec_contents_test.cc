// The codec on tensor contents: raw and typed input contents of every datatype, the checks on
// their sizes and counts, and EncodeInferResponse moving outputs into the reply.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "batcher/request.h"
#include "batcher/tensor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.pb.h"
#include "proto/model_config.pb.h"
#include "proto/tensor_types.h"
#include "server/core/decode/codec_test_support.h"
#include "server/core/decode/tensor_codec.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// ---- Raw contents of every fixed-size datatype ----

struct TypeCase {
  DataType type;
  const char* wire_name;
  size_t byte_size;
};

class RawContentsTest : public ::testing::TestWithParam<TypeCase> {};

TEST_P(RawContentsTest, DecodesAndBorrows) {
  const TypeCase& param = GetParam();
  const inference::ModelConfig config = OneInputConfig(param.type);
  inference::ModelInferRequest message;
  AddInput(&message, "X", param.wire_name, {3});
  std::string bytes(3 * param.byte_size, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i % 2 == 0 ? 1 : i);
  message.add_raw_input_contents(bytes);
  InferenceRequest request;
  const absl::Status status = Decode(message, config, &request);
  ASSERT_TRUE(status.ok()) << status;
  ASSERT_EQ(request.inputs.size(), 1u);
  const InputTensor& tensor = request.inputs[0];
  EXPECT_EQ(tensor.type, param.type);
  EXPECT_THAT(tensor.shape, ElementsAre(3));
  EXPECT_EQ(tensor.data, message.raw_input_contents(0).data());
  EXPECT_EQ(tensor.byte_size, 3 * param.byte_size);
  EXPECT_EQ(TensorBytes(tensor), bytes);
}

TEST_P(RawContentsTest, RefusesOneByteTooFew) {
  const TypeCase& param = GetParam();
  const inference::ModelConfig config = OneInputConfig(param.type);
  inference::ModelInferRequest message;
  AddInput(&message, "X", param.wire_name, {3});
  message.add_raw_input_contents(std::string(3 * param.byte_size - 1, '\0'));
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr(absl::StrCat("needs ", 3 * param.byte_size))));
}

INSTANTIATE_TEST_SUITE_P(EveryFixedSizeType, RawContentsTest,
                         ::testing::Values(TypeCase{inference::TYPE_BOOL, "BOOL", 1},
                                           TypeCase{inference::TYPE_UINT8, "UINT8", 1},
                                           TypeCase{inference::TYPE_UINT16, "UINT16", 2},
                                           TypeCase{inference::TYPE_UINT32, "UINT32", 4},
                                           TypeCase{inference::TYPE_UINT64, "UINT64", 8},
                                           TypeCase{inference::TYPE_INT8, "INT8", 1},
                                           TypeCase{inference::TYPE_INT16, "INT16", 2},
                                           TypeCase{inference::TYPE_INT32, "INT32", 4},
                                           TypeCase{inference::TYPE_INT64, "INT64", 8},
                                           TypeCase{inference::TYPE_FP16, "FP16", 2},
                                           TypeCase{inference::TYPE_BF16, "BF16", 2},
                                           TypeCase{inference::TYPE_FP32, "FP32", 4},
                                           TypeCase{inference::TYPE_FP64, "FP64", 8}),
                         [](const ::testing::TestParamInfo<TypeCase>& info) {
                           return std::string(info.param.wire_name);
                         });

// ---- Typed contents ----

TEST(DecodeInferRequestTest, TypedFp32IsBorrowed) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_FP32);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "FP32", {3});
  for (float v : {1.5f, -2.0f, 3.25f}) x->mutable_contents()->add_fp32_contents(v);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  const InputTensor& tensor = request.inputs[0];
  EXPECT_EQ(tensor.data,
            reinterpret_cast<const char*>(message.inputs(0).contents().fp32_contents().data()));
  EXPECT_EQ(TensorBytes(tensor), Bytes(std::vector<float>{1.5f, -2.0f, 3.25f}));
}

TEST(DecodeInferRequestTest, TypedFp64IsBorrowed) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_FP64);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "FP64", {2});
  for (double v : {1e300, -0.125}) x->mutable_contents()->add_fp64_contents(v);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  const InputTensor& tensor = request.inputs[0];
  EXPECT_EQ(tensor.data,
            reinterpret_cast<const char*>(message.inputs(0).contents().fp64_contents().data()));
  EXPECT_EQ(TensorBytes(tensor), Bytes(std::vector<double>{1e300, -0.125}));
}

TEST(DecodeInferRequestTest, TypedInt32IsBorrowed) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_INT32);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "INT32", {3});
  for (int32_t v : {7, -70000, std::numeric_limits<int32_t>::max()}) {
    x->mutable_contents()->add_int_contents(v);
  }
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  const InputTensor& tensor = request.inputs[0];
  EXPECT_EQ(tensor.data,
            reinterpret_cast<const char*>(message.inputs(0).contents().int_contents().data()));
  EXPECT_EQ(TensorBytes(tensor),
            Bytes(std::vector<int32_t>{7, -70000, std::numeric_limits<int32_t>::max()}));
}

TEST(DecodeInferRequestTest, TypedInt64IsBorrowed) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_INT64);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "INT64", {2});
  for (int64_t v : {int64_t{1} << 40, int64_t{-3}}) x->mutable_contents()->add_int64_contents(v);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  const InputTensor& tensor = request.inputs[0];
  EXPECT_EQ(tensor.data,
            reinterpret_cast<const char*>(message.inputs(0).contents().int64_contents().data()));
  EXPECT_EQ(TensorBytes(tensor), Bytes(std::vector<int64_t>{int64_t{1} << 40, -3}));
}

TEST(DecodeInferRequestTest, TypedInt16IsNarrowedFromIntContents) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_INT16);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "INT16", {3});
  for (int32_t v : {-300, 0, 32767}) x->mutable_contents()->add_int_contents(v);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  const InputTensor& tensor = request.inputs[0];
  EXPECT_EQ(tensor.byte_size, 3 * sizeof(int16_t));
  EXPECT_EQ(TensorBytes(tensor), Bytes(std::vector<int16_t>{-300, 0, 32767}));
  ASSERT_EQ(request.owned_data.size(), 1u);
  EXPECT_EQ(tensor.data, request.owned_data[0].data());
}

TEST(DecodeInferRequestTest, TypedInt8IsNarrowedFromIntContents) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_INT8);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "INT8", {4});
  for (int32_t v : {-128, -1, 0, 127}) x->mutable_contents()->add_int_contents(v);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(TensorBytes(request.inputs[0]), Bytes(std::vector<int8_t>{-128, -1, 0, 127}));
}

TEST(DecodeInferRequestTest, TypedUint8IsNarrowedFromUintContents) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_UINT8);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "UINT8", {3});
  for (uint32_t v : {0u, 128u, 255u}) x->mutable_contents()->add_uint_contents(v);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(TensorBytes(request.inputs[0]), Bytes(std::vector<uint8_t>{0, 128, 255}));
}

TEST(DecodeInferRequestTest, TypedBoolIsOneBytePerValue) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_BOOL);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "BOOL", {3});
  for (bool v : {true, false, true}) x->mutable_contents()->add_bool_contents(v);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.inputs[0].byte_size, 3u);
  EXPECT_EQ(TensorBytes(request.inputs[0]), std::string("\x01\x00\x01", 3));
}

TEST(DecodeInferRequestTest, TypedInputsOfABatchingModel) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message;
  InputMessage* audio = AddInput(&message, "AUDIO", "FP32", {2, 2});
  for (float v : {1.0f, 2.0f, 3.0f, 4.0f}) audio->mutable_contents()->add_fp32_contents(v);
  InputMessage* length = AddInput(&message, "LENGTH", "INT32", {2, 1});
  for (int32_t v : {2, 1}) length->mutable_contents()->add_int_contents(v);
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  EXPECT_EQ(request.batch_rows, 2);
  EXPECT_EQ(TensorBytes(request.inputs[0]), Bytes(std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f}));
  EXPECT_EQ(TensorBytes(request.inputs[1]), Bytes(std::vector<int32_t>{2, 1}));
}

// ---- Validation: contents ----

TEST(DecodeInferRequestTest, RawContentsCountNotMatchingInputsIsRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.mutable_raw_input_contents()->RemoveLast();
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("raw_input_contents"), HasSubstr("has 1 entries"),
                             HasSubstr("one per input not in shared memory, 2"))));
}

TEST(DecodeInferRequestTest, RawBytesShorterThanShapeAreRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.set_raw_input_contents(0, std::string(8, '\0'));
  EXPECT_THAT(Decode(message, config), StatusIs(absl::StatusCode::kInvalidArgument,
                                                AllOf(HasSubstr("input 'AUDIO'"),
                                                      HasSubstr("raw_input_contents has 8 bytes"),
                                                      HasSubstr("shape [1, 3] of FP32 needs 12"))));
}

TEST(DecodeInferRequestTest, RawBytesLongerThanShapeAreRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.set_raw_input_contents(0, std::string(16, '\0'));
  EXPECT_THAT(Decode(message, config), StatusIs(absl::StatusCode::kInvalidArgument,
                                                AllOf(HasSubstr("input 'AUDIO'"),
                                                      HasSubstr("raw_input_contents has 16 bytes"),
                                                      HasSubstr("shape [1, 3] of FP32 needs 12"))));
}

TEST(DecodeInferRequestTest, RawAndTypedContentsTogetherAreRefused) {
  const inference::ModelConfig config = BatchingConfig();
  inference::ModelInferRequest message = BatchingRequest(1);
  message.mutable_inputs(1)->mutable_contents()->add_int_contents(3);
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'LENGTH'"),
                             HasSubstr("both raw_input_contents and typed contents"))));
}

TEST(DecodeInferRequestTest, TypedContentsCountNotMatchingShapeIsRefused) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  message.mutable_inputs(0)->mutable_contents()->add_fp32_contents(6.0f);
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'X'"), HasSubstr("contents hold 7 values"),
                             HasSubstr("shape [2, 3] needs 6"))));
}

TEST(DecodeInferRequestTest, TypedContentsInTheWrongFieldAreRefused) {
  const inference::ModelConfig config = OneInputConfig(inference::TYPE_FP32);
  inference::ModelInferRequest message;
  InputMessage* x = AddInput(&message, "X", "FP32", {2});
  x->mutable_contents()->add_int_contents(1);
  x->mutable_contents()->add_int_contents(2);
  EXPECT_THAT(Decode(message, config),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'X': fp32_contents hold 0 values"),
                             HasSubstr("shape [2] needs 2"))));
}

// ---- EncodeInferResponse ----

// A decoded request for BatchingConfig() with outputs as a model instance leaves them.
InferenceRequest FinishedRequest() {
  InferenceRequest request;
  request.id = "utterance-7";
  OutputTensor& text = request.outputs.emplace_back();
  text.name = "TEXT";
  text.type = inference::TYPE_FP32;
  text.shape = {2, 16};
  text.data = Bytes(std::vector<float>(32, 0.25f));
  OutputTensor& length = request.outputs.emplace_back();
  length.name = "TEXT_LENGTH";
  length.type = inference::TYPE_INT32;
  length.shape = {2, 1};
  length.data = Bytes(std::vector<int32_t>{16, 9});
  return request;
}

TEST(EncodeInferResponseTest, EncodesEveryOutputWhenNoneRequested) {
  inference::ModelInferRequest message;
  message.set_model_name("asr");
  InferenceRequest request = FinishedRequest();
  const char* const text_bytes = request.outputs[0].data.data();
  inference::ModelInferResponse response;
  ASSERT_TRUE(EncodeInferResponse(message, "3", &request, &response).ok());

  EXPECT_EQ(response.model_name(), "asr");
  EXPECT_EQ(response.model_version(), "3");
  EXPECT_EQ(response.id(), "utterance-7");
  ASSERT_EQ(response.outputs_size(), 2);
  ASSERT_EQ(response.raw_output_contents_size(), 2);
  EXPECT_EQ(response.outputs(0).name(), "TEXT");
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2, 16));
  EXPECT_EQ(response.raw_output_contents(0), Bytes(std::vector<float>(32, 0.25f)));
  EXPECT_EQ(response.outputs(1).name(), "TEXT_LENGTH");
  EXPECT_EQ(response.outputs(1).datatype(), "INT32");
  EXPECT_THAT(response.outputs(1).shape(), ElementsAre(2, 1));
  EXPECT_EQ(response.raw_output_contents(1), Bytes(std::vector<int32_t>{16, 9}));
  // Moved, not copied: the reply holds the instance's own buffer.
  EXPECT_EQ(response.raw_output_contents(0).data(), text_bytes);
}

TEST(EncodeInferResponseTest, EncodesOnlyTheRequestedOutputs) {
  inference::ModelInferRequest message;
  message.set_model_name("asr");
  message.add_outputs()->set_name("TEXT_LENGTH");
  InferenceRequest request = FinishedRequest();
  inference::ModelInferResponse response;
  ASSERT_TRUE(EncodeInferResponse(message, "1", &request, &response).ok());

  ASSERT_EQ(response.outputs_size(), 1);
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "TEXT_LENGTH");
  EXPECT_EQ(response.outputs(0).datatype(), "INT32");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2, 1));
  EXPECT_EQ(response.raw_output_contents(0), Bytes(std::vector<int32_t>{16, 9}));
}

TEST(EncodeInferResponseTest, KeepsTheModelOrderOfRequestedOutputs) {
  inference::ModelInferRequest message;
  message.add_outputs()->set_name("TEXT_LENGTH");
  message.add_outputs()->set_name("TEXT");
  InferenceRequest request = FinishedRequest();
  inference::ModelInferResponse response;
  ASSERT_TRUE(EncodeInferResponse(message, "1", &request, &response).ok());
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.outputs(0).name(), "TEXT");
  EXPECT_EQ(response.outputs(1).name(), "TEXT_LENGTH");
  EXPECT_EQ(response.raw_output_contents(1), Bytes(std::vector<int32_t>{16, 9}));
}

TEST(EncodeInferResponseTest, WireNamesOfDatatypes) {
  inference::ModelInferRequest message;
  InferenceRequest request;
  for (DataType type : {inference::TYPE_BOOL, inference::TYPE_INT64, inference::TYPE_FP16,
                        inference::TYPE_BF16, inference::TYPE_FP64, inference::TYPE_UINT8}) {
    OutputTensor& output = request.outputs.emplace_back();
    output.name = inference::DataType_Name(type);
    output.type = type;
    output.shape = {1};
    output.data = std::string(DataTypeByteSize(type), '\0');
  }
  inference::ModelInferResponse response;
  ASSERT_TRUE(EncodeInferResponse(message, "1", &request, &response).ok());
  std::vector<std::string> datatypes;
  for (const auto& output : response.outputs()) datatypes.push_back(output.datatype());
  EXPECT_THAT(datatypes, ElementsAre("BOOL", "INT64", "FP16", "BF16", "FP64", "UINT8"));
}

TEST(EncodeInferResponseTest, DecodedIdTravelsToTheReply) {
  const inference::ModelConfig config = PlainConfig();
  inference::ModelInferRequest message = PlainRequest();
  message.set_id("round-trip");
  InferenceRequest request;
  ASSERT_TRUE(Decode(message, config, &request).ok());
  OutputTensor& y = request.outputs.emplace_back();
  y.name = "Y";
  y.type = inference::TYPE_FP32;
  y.shape = {2, 3};
  y.data.assign(request.inputs[0].data, request.inputs[0].byte_size);
  inference::ModelInferResponse response;
  ASSERT_TRUE(EncodeInferResponse(message, "2", &request, &response).ok());
  EXPECT_EQ(response.id(), "round-trip");
  EXPECT_EQ(response.model_name(), "plain");
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  EXPECT_EQ(response.raw_output_contents(0), Bytes(std::vector<float>{0, 1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace speech
