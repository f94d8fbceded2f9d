#include "client/tensor_util.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T>
HostTensor MakeTensor(std::string name, std::string datatype, std::vector<int64_t> shape,
                      const std::vector<T>& values) {
  HostTensor tensor{std::move(name), std::move(datatype), std::move(shape), ""};
  tensor.bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return tensor;
}

// What a server would send back for `request`: every input echoed as an output of the same name.
inference::ModelInferResponse EchoResponse(const inference::ModelInferRequest& request) {
  inference::ModelInferResponse response;
  response.set_model_name(request.model_name());
  for (int i = 0; i < request.inputs_size(); ++i) {
    auto* output = response.add_outputs();
    output->set_name(request.inputs(i).name());
    output->set_datatype(request.inputs(i).datatype());
    *output->mutable_shape() = request.inputs(i).shape();
    response.add_raw_output_contents(request.raw_input_contents(i));
  }
  return response;
}

TEST(TensorUtilTest, RequestRoundTripsThroughResponse) {
  const std::vector<HostTensor> inputs = {
      MakeTensor<float>("AUDIO", "FP32", {1, 4}, {0.5f, -1.0f, 2.0f, 0.0f}),
      MakeTensor<int64_t>("LENGTH", "INT64", {1}, {4}),
  };
  const inference::ModelInferRequest request =
      MakeInferRequest("asr", "2", inputs, {std::string("TEXT")});
  EXPECT_EQ(request.model_name(), "asr");
  EXPECT_EQ(request.model_version(), "2");
  ASSERT_EQ(request.inputs_size(), 2);
  EXPECT_EQ(request.inputs(0).name(), "AUDIO");
  EXPECT_EQ(request.inputs(0).datatype(), "FP32");
  EXPECT_THAT(request.inputs(0).shape(), ElementsAre(1, 4));
  ASSERT_EQ(request.raw_input_contents_size(), 2);
  ASSERT_EQ(request.outputs_size(), 1);
  EXPECT_EQ(request.outputs(0).name(), "TEXT");

  absl::StatusOr<std::vector<HostTensor>> outputs = OutputsFromResponse(EchoResponse(request));
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 2);
  EXPECT_EQ((*outputs)[0].name, "AUDIO");
  EXPECT_THAT(AsVector<float>((*outputs)[0]), ElementsAre(0.5f, -1.0f, 2.0f, 0.0f));
  EXPECT_THAT(AsVector<int64_t>((*outputs)[1]), ElementsAre(4));
  EXPECT_THAT((*outputs)[1].shape, ElementsAre(1));
}

TEST(TensorUtilTest, ReadsTypedContentsWhenThereAreNoRawContents) {
  inference::ModelInferResponse response;
  auto* scores = response.add_outputs();
  scores->set_name("SCORES");
  scores->set_datatype("INT16");
  scores->add_shape(3);
  for (int v : {-2, 0, 7}) scores->mutable_contents()->add_int_contents(v);
  auto* text = response.add_outputs();
  text->set_name("TEXT");
  text->set_datatype("BYTES");
  text->add_shape(2);
  text->mutable_contents()->add_bytes_contents("hello");
  text->mutable_contents()->add_bytes_contents("");

  absl::StatusOr<std::vector<HostTensor>> outputs = OutputsFromResponse(response);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_THAT(AsVector<int16_t>((*outputs)[0]), ElementsAre(-2, 0, 7));
  EXPECT_EQ((*outputs)[1].bytes, std::string("\x05\0\0\0hello\0\0\0\0", 13));
}

TEST(TensorUtilTest, RejectsRawSizeThatDoesNotMatchShape) {
  const HostTensor tensor = MakeTensor<float>("OUT", "FP32", {2, 3}, {1, 2, 3, 4, 5});
  inference::ModelInferResponse response = EchoResponse(MakeInferRequest("m", "", {tensor}, {}));
  absl::StatusOr<std::vector<HostTensor>> outputs = OutputsFromResponse(response);
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(outputs.status().message(), HasSubstr("OUT FP32 [2, 3]: expected 24 bytes, got 20"));
}

TEST(TensorUtilTest, RejectsMismatchedRawCountTypedCountAndBadShapes) {
  inference::ModelInferResponse response;
  auto* output = response.add_outputs();
  output->set_name("OUT");
  output->set_datatype("FP32");
  output->add_shape(2);
  response.add_raw_output_contents(std::string(8, '\0'));
  response.add_raw_output_contents(std::string(8, '\0'));
  EXPECT_THAT(OutputsFromResponse(response).status().message(),
              HasSubstr("1 outputs but 2 raw_output_contents"));

  response.clear_raw_output_contents();
  output->mutable_contents()->add_fp32_contents(1.0f);
  EXPECT_THAT(OutputsFromResponse(response).status().message(),
              HasSubstr("contents hold 1 elements; the shape needs 2"));

  output->set_shape(0, -1);
  EXPECT_EQ(OutputsFromResponse(response).status().code(), absl::StatusCode::kInvalidArgument);

  output->set_datatype("FP17");
  EXPECT_THAT(OutputsFromResponse(response).status().message(), HasSubstr("unknown datatype"));

  output->set_datatype("FP16");
  output->set_shape(0, 1);
  EXPECT_THAT(OutputsFromResponse(response).status().message(), HasSubstr("raw bytes"));
}

TEST(TensorUtilTest, RejectsMalformedBytes) {
  HostTensor tensor{"TEXT", "BYTES", {1}, std::string("\x09\0\0\0abc", 7)};
  EXPECT_THAT(ValidateTensor(tensor).message(), HasSubstr("malformed"));
}

TEST(TensorUtilTest, GeneratesZeros) {
  absl::StatusOr<HostTensor> tensor =
      GenerateInput("X", "FP32", {2, 3}, FillMode::kZeros, /*seed=*/1);
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(tensor->bytes, std::string(24, '\0'));
  EXPECT_TRUE(ValidateTensor(*tensor).ok());
}

TEST(TensorUtilTest, RandomValuesStayInRangeAndFollowTheSeed) {
  absl::StatusOr<HostTensor> floats = GenerateInput("X", "FP32", {1000}, FillMode::kRandom, 7);
  ASSERT_TRUE(floats.ok()) << floats.status();
  float low = 1, high = -1;
  for (float v : AsVector<float>(*floats)) low = std::min(low, v), high = std::max(high, v);
  EXPECT_GE(low, -1.0f);
  EXPECT_LE(high, 1.0f);
  EXPECT_LT(low, -0.9f);  // the whole range gets used
  EXPECT_GT(high, 0.9f);

  absl::StatusOr<HostTensor> halves = GenerateInput("H", "FP16", {100}, FillMode::kRandom, 7);
  ASSERT_TRUE(halves.ok());
  for (uint16_t h : AsVector<uint16_t>(*halves)) ASSERT_LE(std::fabs(HalfToFloat(h)), 1.0f);

  absl::StatusOr<HostTensor> ints =
      GenerateInput("I", "INT64", {1000}, FillMode::kRandom, 7, /*int_low=*/-3, /*int_high=*/4);
  ASSERT_TRUE(ints.ok());
  std::vector<int64_t> values = AsVector<int64_t>(*ints);
  EXPECT_EQ(*std::min_element(values.begin(), values.end()), -3);
  EXPECT_EQ(*std::max_element(values.begin(), values.end()), 3);

  absl::StatusOr<HostTensor> bools = GenerateInput("B", "BOOL", {100}, FillMode::kRandom, 7);
  ASSERT_TRUE(bools.ok());
  for (uint8_t b : AsVector<uint8_t>(*bools)) ASSERT_LE(b, 1);

  EXPECT_EQ(GenerateInput("X", "FP32", {1000}, FillMode::kRandom, 7)->bytes, floats->bytes);
  EXPECT_NE(GenerateInput("X", "FP32", {1000}, FillMode::kRandom, 8)->bytes, floats->bytes);
}

TEST(TensorUtilTest, GenerateRejectsBadRequests) {
  EXPECT_FALSE(GenerateInput("S", "BYTES", {1}, FillMode::kZeros, 0).ok());
  EXPECT_FALSE(GenerateInput("X", "FP32", {-1, 2}, FillMode::kZeros, 0).ok());
  EXPECT_THAT(GenerateInput("U", "UINT8", {2}, FillMode::kRandom, 0, -1, 10).status().message(),
              HasSubstr("does not fit UINT8"));
  EXPECT_THAT(GenerateInput("I", "INT8", {2}, FillMode::kRandom, 0, 5, 5).status().message(),
              HasSubstr("is empty"));
  EXPECT_TRUE(GenerateInput("I", "INT8", {2}, FillMode::kRandom, 0, -128, 128).ok());
  EXPECT_EQ(ParseFillMode("random").value(), FillMode::kRandom);
  EXPECT_FALSE(ParseFillMode("ones").ok());
}

TEST(TensorUtilTest, ReadsInputFilesOfTheRightSize) {
  const std::string path = absl::StrCat(testing::TempDir(), "/input.bin");
  const std::vector<float> values = {1.0f, 2.0f, 3.0f, 4.0f};
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  std::fwrite(values.data(), sizeof(float), values.size(), file);
  std::fclose(file);

  absl::StatusOr<HostTensor> tensor = ReadInputFile(path, "X", "FP32", {2, 2});
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_THAT(AsVector<float>(*tensor), ElementsAre(1.0f, 2.0f, 3.0f, 4.0f));

  absl::StatusOr<HostTensor> wrong = ReadInputFile(path, "X", "FP32", {3, 2});
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("expected 24 bytes, got 16"));

  EXPECT_EQ(ReadInputFile(path + ".missing", "X", "FP32", {1}).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace speech
