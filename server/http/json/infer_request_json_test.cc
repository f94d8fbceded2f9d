// REST inference request bodies to ModelInferRequest: JSON data, the binary tensor data extension,
// parameters, requested outputs and their encoding, and every error with its message.
#include "server/http/json/infer_request_json.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

template <typename T>
std::string Raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

RestInferRequest Parse(const std::string& body, std::optional<size_t> json_length = {}) {
  RestInferRequest request;
  absl::Status status = ParseRestInferRequest(body, json_length, &request);
  EXPECT_TRUE(status.ok()) << status;
  return request;
}

absl::Status ParseStatus(const std::string& body, std::optional<size_t> json_length = {}) {
  RestInferRequest request;
  return ParseRestInferRequest(body, json_length, &request);
}

std::string ParseError(const std::string& body, std::optional<size_t> json_length = {}) {
  const absl::Status status = ParseStatus(body, json_length);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  return std::string(status.message());
}

TEST(ParseRestInferRequestTest, JsonInputsBecomeRawContents) {
  const RestInferRequest request = Parse(R"({
    "id": "req-7",
    "inputs": [
      {"name": "INPUT0", "shape": [1, 3], "datatype": "INT32", "data": [[1, 2, 3]]},
      {"name": "INPUT1", "shape": [3], "datatype": "FP32", "data": [0.5, 1, -2]}
    ]})");
  const inference::ModelInferRequest& message = request.message;
  EXPECT_EQ(message.id(), "req-7");
  ASSERT_EQ(message.inputs_size(), 2);
  EXPECT_EQ(message.inputs(0).name(), "INPUT0");
  EXPECT_EQ(message.inputs(0).datatype(), "INT32");
  EXPECT_THAT(message.inputs(0).shape(), ElementsAre(1, 3));
  EXPECT_FALSE(message.inputs(0).has_contents());
  ASSERT_EQ(message.raw_input_contents_size(), 2);
  EXPECT_EQ(message.raw_input_contents(0), Raw<int32_t>({1, 2, 3}));
  EXPECT_EQ(message.raw_input_contents(1), Raw<float>({0.5f, 1.0f, -2.0f}));
  EXPECT_TRUE(message.outputs().empty());
  EXPECT_TRUE(request.outputs.named.empty());
  EXPECT_FALSE(request.outputs.binary_by_default);
  EXPECT_TRUE(message.model_name().empty());  // the URL's, set by the caller
}

TEST(ParseRestInferRequestTest, BinaryInputsFollowTheJsonInInputOrder) {
  const std::string json = R"({"inputs": [
      {"name": "A", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}},
      {"name": "B", "shape": [1], "datatype": "FP32", "data": [7]},
      {"name": "C", "shape": [1], "datatype": "INT64", "parameters": {"binary_data_size": 8}}]})";
  const std::string body = json + Raw<int32_t>({5, 6}) + Raw<int64_t>({-9});
  const RestInferRequest request = Parse(body, json.size());
  ASSERT_EQ(request.message.raw_input_contents_size(), 3);
  EXPECT_EQ(request.message.raw_input_contents(0), Raw<int32_t>({5, 6}));
  EXPECT_EQ(request.message.raw_input_contents(1), Raw<float>({7}));
  EXPECT_EQ(request.message.raw_input_contents(2), Raw<int64_t>({-9}));
  // binary_data_size is the transport's, not the model's: it does not travel on.
  EXPECT_TRUE(request.message.inputs(0).parameters().empty());
}

TEST(ParseRestInferRequestTest, ZeroByteBinaryInputAndJsonLengthOfTheWholeBody) {
  const std::string json = R"({"inputs": [
      {"name": "A", "shape": [0], "datatype": "FP32", "parameters": {"binary_data_size": 0}}]})";
  const RestInferRequest request = Parse(json, json.size());
  EXPECT_EQ(request.message.raw_input_contents(0), "");
}

TEST(ParseRestInferRequestTest, ParametersTravelOnTyped) {
  const RestInferRequest request = Parse(R"({
    "parameters": {"timeout": 5000, "priority": 1, "flag": true, "name": "x", "ratio": 0.5,
                   "big": 18446744073709551615, "negative": -3, "binary_data_output": true},
    "inputs": [{"name": "I", "shape": [1], "datatype": "BOOL", "data": [true],
                "parameters": {"custom": "y"}}]})");
  const auto& parameters = request.message.parameters();
  EXPECT_EQ(parameters.at("timeout").int64_param(), 5000);
  EXPECT_EQ(parameters.at("priority").int64_param(), 1);
  EXPECT_TRUE(parameters.at("flag").bool_param());
  EXPECT_EQ(parameters.at("name").string_param(), "x");
  EXPECT_EQ(parameters.at("ratio").double_param(), 0.5);
  EXPECT_EQ(parameters.at("big").uint64_param(), 18446744073709551615u);
  EXPECT_EQ(parameters.at("negative").int64_param(), -3);
  EXPECT_EQ(parameters.count("binary_data_output"), 0u);
  EXPECT_TRUE(request.outputs.binary_by_default);
  EXPECT_EQ(request.message.inputs(0).parameters().at("custom").string_param(), "y");
}

TEST(ParseRestInferRequestTest, RequestedOutputsAndTheirEncoding) {
  const RestInferRequest request = Parse(R"({
    "inputs": [{"name": "I", "shape": [1], "datatype": "INT8", "data": [1]}],
    "outputs": [{"name": "OUT0", "parameters": {"binary_data": true}},
                {"name": "OUT1"},
                {"name": "OUT2", "parameters": {"binary_data": false, "extra": 2}}]})");
  ASSERT_EQ(request.message.outputs_size(), 3);
  EXPECT_EQ(request.message.outputs(0).name(), "OUT0");
  EXPECT_TRUE(request.message.outputs(0).parameters().empty());
  EXPECT_EQ(request.message.outputs(2).parameters().at("extra").int64_param(), 2);
  EXPECT_THAT(request.outputs.named,
              ElementsAre(Pair("OUT0", true), Pair("OUT1", false), Pair("OUT2", false)));
  EXPECT_TRUE(request.outputs.IsBinary("OUT0"));
  EXPECT_FALSE(request.outputs.IsBinary("OUT1"));
  EXPECT_FALSE(request.outputs.IsBinary("OTHER"));
  OutputEncoding binary_default = request.outputs;
  binary_default.binary_by_default = true;
  EXPECT_TRUE(binary_default.IsBinary("OTHER"));
  EXPECT_FALSE(binary_default.IsBinary("OUT1"));  // named without binary_data: JSON
}

TEST(ParseRestInferRequestTest, MalformedJsonNamesThePosition) {
  EXPECT_THAT(ParseError(R"({"inputs": [}, )"),
              AllOf(HasSubstr("the request's JSON is malformed (byte 13 of 15)"),
                    HasSubstr("line 1, column 13"), ::testing::Not(HasSubstr("[json.exception"))));
  EXPECT_THAT(ParseError(""), HasSubstr("malformed (byte 1 of 0)"));
  // Binary data after the JSON is not part of the JSON.
  const std::string json = R"({"inputs": []})";
  EXPECT_THAT(ParseError(json + "\x01\x02", std::nullopt), HasSubstr("malformed"));
  // A number beyond a double is an error of the request, not an exception out of the parser.
  EXPECT_THAT(ParseError(R"({"inputs": [1e999]})"),
              AllOf(HasSubstr("malformed: number overflow parsing '1e999'"),
                    ::testing::Not(HasSubstr("[json.exception"))));
}

TEST(ParseRestInferRequestTest, StructureErrors) {
  EXPECT_THAT(ParseError("[1]"), HasSubstr("the request must be a JSON object; got an array"));
  EXPECT_THAT(ParseError("{}"),
              HasSubstr("'inputs' must be an array of input tensors; got nothing"));
  EXPECT_THAT(ParseError(R"({"inputs": {}})"), HasSubstr("got an object"));
  EXPECT_THAT(ParseError(R"({"inputs": [5]})"), HasSubstr("inputs[0] must be an object"));
  EXPECT_THAT(ParseError(R"({"inputs": [{"shape": [1]}]})"),
              HasSubstr("inputs[0]: 'name' must be a string; got nothing"));
  EXPECT_THAT(ParseError(R"({"inputs": [{"name": "I", "shape": [1], "data": [1]}]})"),
              HasSubstr("input 'I': 'datatype' must be a string"));
  EXPECT_THAT(ParseError(R"({"inputs": [{"name": "I", "datatype": "FP33", "shape": [1]}]})"),
              HasSubstr("input 'I': unknown datatype 'FP33'"));
  EXPECT_THAT(
      ParseError(R"({"inputs": [{"name": "I", "datatype": "FP32", "shape": [-1]}]})"),
      HasSubstr(
          "input 'I': 'shape' must be an array of non-negative integers; got an array ([-1])"));
  EXPECT_THAT(ParseError(R"({"inputs": [{"name": "I", "datatype": "FP32", "shape": "1"}]})"),
              HasSubstr("'shape' must be an array"));
  EXPECT_THAT(
      ParseError(R"({"inputs": [{"name": "I", "datatype": "FP32", "shape": [1]}]})"),
      HasSubstr(
          "input 'I': needs exactly one of 'data' and parameters.binary_data_size; got neither"));
  EXPECT_THAT(ParseError(R"({"id": 5, "inputs": []})"),
              HasSubstr("'id' must be a string; got an integer (5)"));
  EXPECT_THAT(ParseError(R"({"parameters": [1], "inputs": []})"),
              HasSubstr("'parameters' must be an object; got an array"));
  EXPECT_THAT(ParseError(R"({"parameters": {"x": null}, "inputs": []})"),
              HasSubstr("parameter 'x' must be a bool, a number or a string; got null"));
  EXPECT_THAT(ParseError(R"({"parameters": {"binary_data_output": 1}, "inputs": []})"),
              HasSubstr("parameter 'binary_data_output' must be true or false"));
  EXPECT_THAT(ParseError(R"({"inputs": [], "outputs": {}})"),
              HasSubstr("'outputs' must be an array"));
  EXPECT_THAT(ParseError(R"({"inputs": [], "outputs": [{"name": 1}]})"),
              HasSubstr("outputs[0]: 'name' must be a string"));
  EXPECT_THAT(
      ParseError(
          R"({"inputs": [], "outputs": [{"name": "O", "parameters": {"binary_data": "yes"}}]})"),
      HasSubstr("output 'O': 'binary_data' must be true or false; got a string"));
}

TEST(ParseRestInferRequestTest, JsonDataMustMatchShapeAndDatatype) {
  EXPECT_THAT(ParseError(R"({"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [1, 16],
                                         "data": [1, 2, 3]}]})"),
              HasSubstr("input 'INPUT0': 'data' holds 3 values; shape [1, 16] needs 16"));
  EXPECT_THAT(ParseError(R"({"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [2],
                                         "data": [1, "x"]}]})"),
              HasSubstr("input 'INPUT0': element 1 of 'data' is a string (\"x\"); INT32 takes"));
}

TEST(ParseRestInferRequestTest, BinarySectionErrors) {
  const std::string json = R"({"inputs": [
      {"name": "A", "shape": [2], "datatype": "INT32", "parameters": {"binary_data_size": 8}}]})";
  // Shorter than declared.
  EXPECT_THAT(ParseError(json + std::string(5, 'x'), json.size()),
              AllOf(HasSubstr("input 'A': 'binary_data_size' is 8 bytes but only 5 bytes"),
                    HasSubstr("Inference-Header-Content-Length: " + std::to_string(json.size()))));
  // Longer than declared.
  EXPECT_THAT(
      ParseError(json + std::string(11, 'x'), json.size()),
      HasSubstr("the body has 3 bytes of binary data beyond what the inputs declare (8 bytes"));
  // Binary data with no JSON length.
  EXPECT_THAT(ParseError(json), HasSubstr("input 'A' has 'binary_data_size' 8 but the request has "
                                          "no Inference-Header-Content-Length header"));
  // Both data and binary.
  EXPECT_THAT(ParseError(R"({"inputs": [{"name": "A", "shape": [1], "datatype": "INT32",
      "data": [1], "parameters": {"binary_data_size": 4}}]})" +
                             std::string(4, 'x'),
                         std::string(R"({"inputs": [{"name": "A", "shape": [1], "datatype": "INT32",
      "data": [1], "parameters": {"binary_data_size": 4}}]})")
                             .size()),
              HasSubstr("got both"));
  EXPECT_THAT(ParseError(R"({"inputs": [{"name": "A", "shape": [1], "datatype": "INT32",
      "parameters": {"binary_data_size": -4}}]})"),
              HasSubstr("'binary_data_size' must be a non-negative integer; got an integer (-4)"));
}

TEST(ParseRestInferRequestTest, SharedMemoryTensorsCarryTheirRegionAndNoContents) {
  const RestInferRequest request = Parse(R"({"inputs": [
      {"name": "A", "shape": [1], "datatype": "INT32",
       "parameters": {"shared_memory_region": "r", "shared_memory_byte_size": 4,
                      "shared_memory_offset": 8}},
      {"name": "B", "shape": [1], "datatype": "INT32", "data": [5]}],
    "outputs": [{"name": "O", "parameters": {"shared_memory_region": "r",
                                             "shared_memory_byte_size": 4}}]})");
  ASSERT_EQ(request.message.inputs_size(), 2);
  const auto& a = request.message.inputs(0).parameters();
  EXPECT_EQ(a.at("shared_memory_region").string_param(), "r");
  EXPECT_EQ(a.at("shared_memory_byte_size").int64_param(), 4);
  EXPECT_EQ(a.at("shared_memory_offset").int64_param(), 8);
  // Raw contents only for the input not in shared memory, as over gRPC.
  ASSERT_EQ(request.message.raw_input_contents_size(), 1);
  EXPECT_EQ(request.message.raw_input_contents(0), std::string("\x05\0\0\0", 4));
  ASSERT_EQ(request.message.outputs_size(), 1);
  EXPECT_EQ(request.message.outputs(0).parameters().at("shared_memory_region").string_param(), "r");
}

TEST(ParseRestInferRequestTest, SharedMemoryInputWithDataToo) {
  EXPECT_THAT(ParseError(R"({"inputs": [{"name": "A", "shape": [1], "datatype": "INT32",
      "data": [1], "parameters": {"shared_memory_region": "r", "shared_memory_byte_size": 4}}]})"),
              HasSubstr("input 'A': takes its data from a shared-memory region, so it must have "
                        "neither 'data' nor parameters.binary_data_size; got 'data'"));
}

TEST(ParseRestInferRequestTest, ClassificationIsUnimplemented) {
  const absl::Status status = ParseStatus(
      R"({"inputs": [], "outputs": [{"name": "O", "parameters": {"classification": 3}}]})");
  EXPECT_EQ(status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(status.message(), HasSubstr("output 'O': the classification extension"));
}

TEST(ParseJsonHeaderLengthTest, TakesAByteCountWithinTheBody) {
  EXPECT_EQ(*ParseJsonHeaderLength("10", 20), 10u);
  EXPECT_EQ(*ParseJsonHeaderLength("20", 20), 20u);
  EXPECT_THAT(ParseJsonHeaderLength("21", 20).status().message(),
              HasSubstr("Inference-Header-Content-Length is 21 but the body has only 20 bytes"));
  EXPECT_THAT(ParseJsonHeaderLength("ten", 20).status().message(),
              HasSubstr("Inference-Header-Content-Length 'ten' is not a byte count"));
  EXPECT_THAT(ParseJsonHeaderLength("-1", 20).status().message(), HasSubstr("not a byte count"));
  EXPECT_THAT(ParseJsonHeaderLength("0", 20).status().message(),
              HasSubstr("raw binary data without a JSON request is not supported"));
  EXPECT_EQ(ParseJsonHeaderLength("0", 20).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace speech
