#include "client/perf/transport/http_infer_body.h"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

// identity's request: INPUT0, FP32 [1, 4], as 16 raw bytes.
inference::ModelInferRequest IdentityRequest() {
  inference::ModelInferRequest request;
  request.set_model_name("identity");
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(4);
  request.add_raw_input_contents(std::string(16, '\x01'));
  return request;
}

// The JSON header of an encoded body.
Json Header(const HttpInferBody& encoded) {
  return Json::parse(encoded.body.substr(0, encoded.json_length));
}

TEST(EncodeHttpInferRequestTest, JsonHeaderThenRawInputsInOrder) {
  inference::ModelInferRequest request = IdentityRequest();
  request.set_id("req-7");
  auto* second = request.add_inputs();
  second->set_name("LENGTHS");
  second->set_datatype("INT64");
  second->add_shape(1);
  request.add_raw_input_contents(std::string(8, '\x02'));
  request.add_outputs()->set_name("OUTPUT0");

  absl::StatusOr<HttpInferBody> encoded = EncodeHttpInferRequest(request);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  ASSERT_EQ(encoded->body.size(), encoded->json_length + 16 + 8);
  EXPECT_EQ(encoded->body.substr(encoded->json_length),
            std::string(16, '\x01') + std::string(8, '\x02'));
  const Json header = Header(*encoded);
  EXPECT_EQ(header["id"], "req-7");
  EXPECT_FALSE(header.contains("parameters"));  // outputs are named, and there are none else
  ASSERT_EQ(header["inputs"].size(), 2u);
  EXPECT_EQ(header["inputs"][0],
            Json::parse(R"({"name": "INPUT0", "shape": [1, 4], "datatype": "FP32",
                            "parameters": {"binary_data_size": 16}})"));
  EXPECT_EQ(header["inputs"][1]["name"], "LENGTHS");
  EXPECT_EQ(header["inputs"][1]["parameters"]["binary_data_size"], 8);
  EXPECT_EQ(header["outputs"], Json::parse(R"([{"name": "OUTPUT0",
                                               "parameters": {"binary_data": true}}])"));
}

TEST(EncodeHttpInferRequestTest, NoOutputsNamedAsksForAllInBinary) {
  absl::StatusOr<HttpInferBody> encoded = EncodeHttpInferRequest(IdentityRequest());
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  const Json header = Header(*encoded);
  EXPECT_FALSE(header.contains("id"));
  EXPECT_FALSE(header.contains("outputs"));
  EXPECT_EQ(header["parameters"], Json::parse(R"({"binary_data_output": true})"));
}

TEST(EncodeHttpInferRequestTest, ParametersOfEveryTypeInAStableOrder) {
  inference::ModelInferRequest request = IdentityRequest();
  request.add_outputs()->set_name("OUTPUT0");
  auto& parameters = *request.mutable_parameters();
  parameters["priority"].set_uint64_param(2);
  parameters["timeout"].set_int64_param(-5);
  parameters["tag"].set_string_param("bench");
  parameters["scale"].set_double_param(0.5);
  parameters["flag"].set_bool_param(true);
  absl::StatusOr<HttpInferBody> encoded = EncodeHttpInferRequest(request);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(Header(*encoded)["parameters"],
            Json::parse(R"({"flag": true, "priority": 2, "scale": 0.5, "tag": "bench",
                            "timeout": -5})"));
  // Sorted keys: the bytes do not depend on the order of protobuf's map.
  EXPECT_THAT(encoded->body, HasSubstr(R"("parameters":{"flag":true,"priority":2,"scale":0.5)"));
  absl::StatusOr<HttpInferBody> again = EncodeHttpInferRequest(request);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->body, encoded->body);
}

TEST(EncodeHttpInferRequestTest, RefusesWhatItCannotSend) {
  inference::ModelInferRequest typed = IdentityRequest();
  typed.clear_raw_input_contents();
  for (int i = 0; i < 4; ++i) typed.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1);
  absl::StatusOr<HttpInferBody> encoded = EncodeHttpInferRequest(typed);
  EXPECT_EQ(encoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(encoded.status().message(), HasSubstr("1 inputs and 0 raw contents"));

  inference::ModelInferRequest empty_parameter = IdentityRequest();
  (*empty_parameter.mutable_parameters())["sequence_id"];
  encoded = EncodeHttpInferRequest(empty_parameter);
  EXPECT_EQ(encoded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(encoded.status().message(), HasSubstr("\"sequence_id\" has no value"));
}

TEST(EncodeHttpInferRequestTest, InvalidUtf8InANameIsReplacedNotThrown) {
  inference::ModelInferRequest request = IdentityRequest();
  request.mutable_inputs(0)->set_name("IN\xff");
  absl::StatusOr<HttpInferBody> encoded = EncodeHttpInferRequest(request);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(Header(*encoded)["inputs"][0]["name"], "IN\xEF\xBF\xBD");  // U+FFFD
}

// A reply header for `outputs` with the binary section that follows it.
struct Reply {
  std::string length;
  std::string body;
};

Reply BinaryReply(const std::string& json, const std::string& binary) {
  return Reply{std::to_string(json.size()), json + binary};
}

absl::Status Check(const inference::ModelInferRequest& request, const Reply& reply) {
  return CheckHttpInferReply(request, reply.length, reply.body);
}

inference::ModelInferRequest NamingOutput0() {
  inference::ModelInferRequest request = IdentityRequest();
  request.add_outputs()->set_name("OUTPUT0");
  return request;
}

constexpr char kOneBinaryOutput[] =
    R"({"model_name":"identity","outputs":[{"name":"OUTPUT0","datatype":"FP32","shape":[1,4],)"
    R"("parameters":{"binary_data_size":16}}]})";

TEST(CheckHttpInferReplyTest, AcceptsBinaryAndJsonOutputs) {
  EXPECT_TRUE(Check(NamingOutput0(), BinaryReply(kOneBinaryOutput, std::string(16, 'x'))).ok());
  EXPECT_TRUE(Check(IdentityRequest(), BinaryReply(kOneBinaryOutput, std::string(16, 'x'))).ok());
  // All JSON, without Inference-Header-Content-Length.
  const std::string json =
      R"({"outputs":[{"name":"OUTPUT0","datatype":"FP32","shape":[1,1],"data":[1.5]}]})";
  EXPECT_TRUE(CheckHttpInferReply(NamingOutput0(), std::nullopt, json).ok());
  // One binary, one JSON; the binary sizes are what must add up.
  const std::string mixed =
      R"({"outputs":[{"name":"A","parameters":{"binary_data_size":3}},)"
      R"({"name":"OUTPUT0","data":[1]},{"name":"C","parameters":{"binary_data_size":0}}]})";
  EXPECT_TRUE(Check(NamingOutput0(), BinaryReply(mixed, "abc")).ok());
}

TEST(CheckHttpInferReplyTest, BinarySectionSizesMustFillTheBody) {
  const absl::Status short_body =
      Check(NamingOutput0(), BinaryReply(kOneBinaryOutput, std::string(15, 'x')));
  EXPECT_EQ(short_body.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(short_body.message(), HasSubstr("more than the 15 bytes that follow"));
  const absl::Status long_body =
      Check(NamingOutput0(), BinaryReply(kOneBinaryOutput, std::string(17, 'x')));
  EXPECT_EQ(long_body.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(long_body.message(), HasSubstr("add up to 16 bytes, but 17 follow"));
  // Binary sizes without the header length: the whole body is JSON, so nothing follows.
  const absl::Status no_length =
      CheckHttpInferReply(NamingOutput0(), std::nullopt, kOneBinaryOutput);
  EXPECT_EQ(no_length.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(no_length.message(), HasSubstr("more than the 0 bytes that follow the JSON header"));
  // Sizes that wrap a 64-bit sum around to the true total.
  const std::string wrapping =
      R"({"outputs":[{"name":"OUTPUT0","parameters":{"binary_data_size":18446744073709551615}},)"
      R"({"name":"B","parameters":{"binary_data_size":5}}]})";
  const absl::Status wrapped = Check(NamingOutput0(), BinaryReply(wrapping, "1234"));
  EXPECT_EQ(wrapped.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(wrapped.message(), HasSubstr("more than the 4 bytes"));
}

TEST(CheckHttpInferReplyTest, BadHeaderLength) {
  const std::string body = std::string(kOneBinaryOutput) + std::string(16, 'x');
  for (const char* length : {"", "abc", "-1", "100000"}) {
    const absl::Status status = CheckHttpInferReply(NamingOutput0(), length, body);
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << length;
    EXPECT_THAT(status.message(),
                HasSubstr(absl::StrCat("Inference-Header-Content-Length is \"", length,
                                       "\" but the body has ", body.size(), " bytes")));
  }
}

TEST(CheckHttpInferReplyTest, MalformedJson) {
  struct Case {
    const char* json;
    const char* why;
  };
  for (const Case& c : {
           Case{R"({"outputs":[)", "does not parse"},
           Case{"", "does not parse"},
           Case{"[]", "no \"outputs\""},
           Case{R"({"model_name":"identity"})", "no \"outputs\""},
           Case{R"({"outputs":{"name":"OUTPUT0"}})", "no \"outputs\""},
           Case{R"({"outputs":[7]})", "an output has no name"},
           Case{R"({"outputs":[{"name":3,"data":[1]}]})", "an output has no name"},
           Case{R"({"outputs":[{"name":"OUTPUT0"}]})", "OUTPUT0 has neither"},
           Case{R"({"outputs":[{"name":"OUTPUT0","parameters":{"binary_data_size":-4}}]})",
                "not a size"},
           Case{R"({"outputs":[{"name":"OUTPUT0","parameters":{"binary_data_size":"4"}}]})",
                "not a size"},
           Case{R"({"outputs":[{"name":"OUTPUT0","parameters":{"binary_data_size":1.5}}]})",
                "not a size"},
       }) {
    const absl::Status status = Check(NamingOutput0(), BinaryReply(c.json, ""));
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << c.json;
    EXPECT_THAT(status.message(), HasSubstr(c.why)) << c.json;
    EXPECT_THAT(status.message(), HasSubstr("bad HTTP inference reply")) << c.json;
  }
}

TEST(CheckHttpInferReplyTest, OutputsAskedForMustBeThere) {
  inference::ModelInferRequest request = NamingOutput0();
  request.add_outputs()->set_name("OUTPUT1");
  const absl::Status missing = Check(request, BinaryReply(kOneBinaryOutput, std::string(16, 'x')));
  EXPECT_EQ(missing.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(missing.message(), HasSubstr("requested output OUTPUT1 is missing"));
  // Asking for none means asking for all: at least one must come back.
  const absl::Status none = Check(IdentityRequest(), BinaryReply(R"({"outputs":[]})", ""));
  EXPECT_EQ(none.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(none.message(), HasSubstr("it has no outputs"));
}

}  // namespace
}  // namespace speech
