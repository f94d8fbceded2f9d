// ModelInferResponse to the REST reply: JSON data, binary outputs after the JSON (by output
// name and by default), ids and parameters, and malformed responses.
#include "server/http/json/infer_response_json.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;
using ::testing::HasSubstr;

template <typename T>
std::string Raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// `simple`'s reply: OUTPUT0 INT32 [1, 2] = {3, 4}, OUTPUT1 FP32 [2] = {0.5, -1}.
inference::ModelInferResponse SimpleResponse() {
  inference::ModelInferResponse response;
  response.set_model_name("simple");
  response.set_model_version("1");
  auto* out0 = response.add_outputs();
  out0->set_name("OUTPUT0");
  out0->set_datatype("INT32");
  out0->add_shape(1);
  out0->add_shape(2);
  response.add_raw_output_contents(Raw<int32_t>({3, 4}));
  auto* out1 = response.add_outputs();
  out1->set_name("OUTPUT1");
  out1->set_datatype("FP32");
  out1->add_shape(2);
  response.add_raw_output_contents(Raw<float>({0.5f, -1.0f}));
  return response;
}

RestInferReply Encode(inference::ModelInferResponse response, const OutputEncoding& encoding) {
  absl::StatusOr<RestInferReply> reply = EncodeRestInferReply(&response, encoding);
  EXPECT_TRUE(reply.ok()) << reply.status();
  return reply.ok() ? *reply : RestInferReply();
}

TEST(EncodeRestInferReplyTest, JsonOutputsAreFlatDataInOrder) {
  const RestInferReply reply = Encode(SimpleResponse(), OutputEncoding());
  EXPECT_FALSE(reply.json_length.has_value());
  EXPECT_EQ(reply.body, R"({"model_name":"simple","model_version":"1","outputs":[)"
                        R"({"name":"OUTPUT0","datatype":"INT32","shape":[1,2],"data":[3,4]},)"
                        R"({"name":"OUTPUT1","datatype":"FP32","shape":[2],"data":[0.5,-1.0]}]})");
}

TEST(EncodeRestInferReplyTest, IdAndParametersWhenPresent) {
  inference::ModelInferResponse response = SimpleResponse();
  response.set_id("req-1");
  (*response.mutable_parameters())["b"].set_bool_param(true);
  (*response.mutable_parameters())["a"].set_int64_param(-2);
  (*response.mutable_parameters())["c"].set_string_param("x");
  (*response.mutable_parameters())["d"].set_double_param(0.25);
  (*response.mutable_parameters())["e"].set_uint64_param(7);
  (*response.mutable_outputs(0)->mutable_parameters())["note"].set_string_param("n");
  const Json json = Json::parse(Encode(response, OutputEncoding()).body);
  EXPECT_EQ(json.begin().key(), "id");
  EXPECT_EQ(json["id"], "req-1");
  EXPECT_EQ(json["parameters"].dump(), R"({"a":-2,"b":true,"c":"x","d":0.25,"e":7})");
  EXPECT_EQ(json["outputs"][0]["parameters"]["note"], "n");
}

TEST(EncodeRestInferReplyTest, BinaryOutputsFollowTheJson) {
  OutputEncoding encoding;
  encoding.named = {{"OUTPUT1", true}, {"OUTPUT0", false}};
  const RestInferReply reply = Encode(SimpleResponse(), encoding);
  ASSERT_TRUE(reply.json_length.has_value());
  const Json json = Json::parse(reply.body.substr(0, *reply.json_length));
  EXPECT_EQ(json["outputs"][0]["data"], Json::parse("[3, 4]"));
  EXPECT_FALSE(json["outputs"][1].contains("data"));
  EXPECT_EQ(json["outputs"][1]["parameters"]["binary_data_size"], 8);
  EXPECT_EQ(reply.body.substr(*reply.json_length), Raw<float>({0.5f, -1.0f}));
}

TEST(EncodeRestInferReplyTest, BinaryByDefaultKeepsOutputOrder) {
  OutputEncoding encoding;
  encoding.binary_by_default = true;
  const RestInferReply reply = Encode(SimpleResponse(), encoding);
  ASSERT_TRUE(reply.json_length.has_value());
  const Json json = Json::parse(reply.body.substr(0, *reply.json_length));
  EXPECT_EQ(json["outputs"][0]["parameters"]["binary_data_size"], 8);
  EXPECT_EQ(json["outputs"][1]["parameters"]["binary_data_size"], 8);
  EXPECT_EQ(reply.body.substr(*reply.json_length),
            Raw<int32_t>({3, 4}) + Raw<float>({0.5f, -1.0f}));
}

TEST(EncodeRestInferReplyTest, EmptyBinaryOutputsAddNoBinarySection) {
  inference::ModelInferResponse response = SimpleResponse();
  response.mutable_outputs(0)->set_shape(1, 0);
  response.mutable_raw_output_contents(0)->clear();
  OutputEncoding encoding;
  encoding.named = {{"OUTPUT0", true}};
  const RestInferReply reply = Encode(response, encoding);
  EXPECT_FALSE(reply.json_length.has_value());  // as Triton: JSON alone
  const Json json = Json::parse(reply.body);
  EXPECT_EQ(json["outputs"][0]["parameters"]["binary_data_size"], 0);
}

TEST(EncodeRestInferReplyTest, SharedMemoryOutputsHaveNoData) {
  inference::ModelInferResponse response = SimpleResponse();
  auto& parameters = *response.mutable_outputs(1)->mutable_parameters();
  parameters["shared_memory_region"].set_string_param("out");
  parameters["shared_memory_byte_size"].set_int64_param(8);
  response.mutable_raw_output_contents(1)->clear();  // the codec wrote it into the region
  OutputEncoding encoding;
  encoding.binary_by_default = true;
  const RestInferReply reply = Encode(response, encoding);
  ASSERT_TRUE(reply.json_length.has_value());
  const Json json = Json::parse(reply.body.substr(0, *reply.json_length));
  EXPECT_FALSE(json["outputs"][1].contains("data"));
  EXPECT_FALSE(json["outputs"][1]["parameters"].contains("binary_data_size"));
  EXPECT_EQ(json["outputs"][1]["parameters"]["shared_memory_region"], "out");
  EXPECT_EQ(reply.body.substr(*reply.json_length), Raw<int32_t>({3, 4}));
}

TEST(EncodeRestInferReplyTest, BytesAndBoolOutputsInJson) {
  inference::ModelInferResponse response;
  response.set_model_name("m");
  response.set_model_version("2");
  auto* text = response.add_outputs();
  text->set_name("TEXT");
  text->set_datatype("BYTES");
  text->add_shape(2);
  std::string raw;
  for (const std::string word : {"hi", "there"}) {
    const uint32_t length = word.size();
    raw.append(reinterpret_cast<const char*>(&length), 4).append(word);
  }
  response.add_raw_output_contents(raw);
  auto* flags = response.add_outputs();
  flags->set_name("FLAGS");
  flags->set_datatype("BOOL");
  flags->add_shape(2);
  response.add_raw_output_contents(std::string("\1\0", 2));
  const Json json = Json::parse(Encode(response, OutputEncoding()).body);
  EXPECT_EQ(json["outputs"][0]["data"], Json::parse(R"(["hi", "there"])"));
  EXPECT_EQ(json["outputs"][1]["data"], Json::parse("[true, false]"));
}

TEST(EncodeRestInferReplyTest, MalformedResponsesAreErrors) {
  inference::ModelInferResponse missing = SimpleResponse();
  missing.mutable_raw_output_contents()->RemoveLast();
  absl::StatusOr<RestInferReply> reply = EncodeRestInferReply(&missing, OutputEncoding());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(reply.status().message(), HasSubstr("2 outputs but 1 raw output contents"));

  inference::ModelInferResponse short_output = SimpleResponse();
  short_output.mutable_raw_output_contents(1)->resize(4);
  reply = EncodeRestInferReply(&short_output, OutputEncoding());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(reply.status().message(), HasSubstr("output 'OUTPUT1': has 4 bytes"));
  // In binary the bytes go as they are: the client reads binary_data_size.
  OutputEncoding binary;
  binary.binary_by_default = true;
  short_output = SimpleResponse();
  short_output.mutable_raw_output_contents(1)->resize(4);
  EXPECT_TRUE(EncodeRestInferReply(&short_output, binary).ok());
}

}  // namespace
}  // namespace speech
