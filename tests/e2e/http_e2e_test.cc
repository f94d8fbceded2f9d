// End to end over HTTP/REST: the real speech_server with the default model repository, called as
// curl would (httplib's client): health, metadata, configuration, statistics and the index; JSON
// and binary inference on `identity` and `simple`; the same request answered identically over
// gRPC and REST; and bad requests, each with its status and message and each followed by a good
// request that succeeds.
#include <httplib.h>

#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;
using ::testing::HasSubstr;

// The server's body limit in this suite, small enough to exceed cheaply.
constexpr int64_t kMaxBodyBytes = 1 << 20;

std::string Sequence(int count, int first = 0) {
  std::string text;
  for (int i = 0; i < count; ++i) absl::StrAppend(&text, i == 0 ? "" : ", ", first + i);
  return text;
}

// `simple` with INPUT0 = 0..15 and INPUT1 = 1..16, in JSON.
std::string SimpleJson() {
  return absl::StrCat(R"({"id": "s1", "inputs": [
      {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": [)",
                      Sequence(16), R"(]},
      {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "data": [)",
                      Sequence(16, 1), "]}]}");
}

class HttpEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = ServerProcess::Start(
        "server/speech_server",
        {absl::StrCat("--model-repository=", kDefaultRepository), "--allow-metrics=false",
         absl::StrCat("--http-max-body-bytes=", kMaxBodyBytes)});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    ASSERT_GT(server_->http_port(), 0) << server_->Output();
    auto client = InferenceClient::Create(InferenceClient::Options{server_->grpc_target()});
    ASSERT_TRUE(client.ok()) << client.status();
    grpc_ = client->release();
  }

  static void TearDownTestSuite() {
    delete grpc_;
    grpc_ = nullptr;
    if (server_ != nullptr) {
      // With a keep-alive connection still open: the server must still exit cleanly, at once.
      httplib::Client idle("127.0.0.1", server_->http_port());
      idle.set_keep_alive(true);
      httplib::Result live = idle.Get("/v2/health/live");
      EXPECT_TRUE(live && live->status == 200);
      const absl::Time start = absl::Now();
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
      EXPECT_LT(absl::Now() - start, absl::Seconds(10));
    }
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
    http_->set_keep_alive(true);
    http_->set_tcp_nodelay(true);  // or Nagle holds each body back for a delayed ACK (40 ms)
    http_->set_read_timeout(60);
  }

  static Json BodyJson(const httplib::Result& result) {
    if (!result) {
      ADD_FAILURE() << "no reply: " << httplib::to_string(result.error());
      return Json();
    }
    Json json = Json::parse(result->body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(json.is_discarded()) << "not JSON: " << result->body;
    return json;
  }

  static std::string Error(const httplib::Result& result) {
    const Json json = BodyJson(result);
    return json.is_object() && json.contains("error") ? json["error"].get<std::string>() : "";
  }

  httplib::Result Post(const std::string& path, const std::string& body,
                       const httplib::Headers& headers = {}) {
    return http_->Post(path.c_str(), headers, body, "application/json");
  }

  // The REST reply's JSON and, when it has one, its binary section.
  static void Split(const httplib::Result& result, Json* json, std::string* binary) {
    ASSERT_TRUE(result);
    size_t length = result->body.size();
    if (result->has_header("Inference-Header-Content-Length")) {
      ASSERT_TRUE(
          absl::SimpleAtoi(result->get_header_value("Inference-Header-Content-Length"), &length));
      ASSERT_LE(length, result->body.size());
    }
    *json = Json::parse(result->body.substr(0, length));
    *binary = result->body.substr(length);
  }

  // After each bad request: a good one on the same client succeeds.
  void ExpectStillServing() {
    httplib::Result result = Post("/v2/models/simple/infer", SimpleJson());
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    ASSERT_EQ(result->status, 200) << result->body;
    EXPECT_EQ(BodyJson(result)["outputs"][0]["data"][15], 15 + 16);
  }

  static inline ServerProcess* server_ = nullptr;
  static inline InferenceClient* grpc_ = nullptr;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(HttpEndToEndTest, HealthMetadataConfigStatisticsAndIndex) {
  for (const char* path : {"/v2/health/live", "/v2/health/ready", "/v2/models/simple/ready",
                           "/v2/models/fastpitch/versions/1/ready"}) {
    httplib::Result result = http_->Get(path);
    ASSERT_TRUE(result) << path;
    EXPECT_EQ(result->status, 200) << path;
  }
  httplib::Result result = http_->Get("/v2/models/nope/ready");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);

  const Json server = BodyJson(http_->Get("/v2"));
  EXPECT_EQ(server["name"], "speech-inference-server");
  EXPECT_THAT(server["extensions"], ::testing::Contains(Json("statistics")));

  const Json metadata = BodyJson(http_->Get("/v2/models/simple"));
  EXPECT_EQ(metadata, Json::parse(R"({"name": "simple", "versions": ["1"],
      "platform": "pytorch_libtorch",
      "inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": [-1, 16]},
                 {"name": "INPUT1", "datatype": "INT32", "shape": [-1, 16]}],
      "outputs": [{"name": "OUTPUT0", "datatype": "INT32", "shape": [-1, 16]},
                  {"name": "OUTPUT1", "datatype": "INT32", "shape": [-1, 16]}]})"));

  const Json config = BodyJson(http_->Get("/v2/models/fastpitch/config"));
  EXPECT_EQ(config["max_batch_size"], 8);
  EXPECT_EQ(config["dynamic_batching"]["preferred_batch_size"], Json::parse("[4, 8]"));
  EXPECT_EQ(config["input"][0]["dims"], Json::parse("[-1]"));
  // The same configuration as over gRPC.
  auto grpc_config = grpc_->ModelConfig("fastpitch");
  ASSERT_TRUE(grpc_config.ok()) << grpc_config.status();
  EXPECT_EQ(config["dynamic_batching"]["max_queue_delay_microseconds"],
            grpc_config->config().dynamic_batching().max_queue_delay_microseconds());

  ExpectStillServing();
  const Json stats = BodyJson(http_->Get("/v2/models/simple/stats"));
  ASSERT_EQ(stats["model_stats"].size(), 1u);
  EXPECT_GE(stats["model_stats"][0]["inference_stats"]["success"]["count"].get<int64_t>(), 1);
  EXPECT_TRUE(stats["model_stats"][0]["inference_stats"]["queue"]["ns"].is_number());
  // Every model of the repository, as gRPC lists them.
  auto grpc_index = grpc_->RepositoryIndex();
  ASSERT_TRUE(grpc_index.ok()) << grpc_index.status();
  const size_t models = static_cast<size_t>(grpc_index->models_size());
  EXPECT_EQ(BodyJson(http_->Get("/v2/models/stats"))["model_stats"].size(), models);

  const Json index = BodyJson(Post("/v2/repository/index", ""));
  ASSERT_TRUE(index.is_array());
  ASSERT_EQ(index.size(), models);
  for (size_t i = 0; i < models; ++i) {
    EXPECT_EQ(index[i]["name"], grpc_index->models(static_cast<int>(i)).name());
    EXPECT_EQ(index[i]["state"], "READY") << index[i].dump();
  }
}

TEST_F(HttpEndToEndTest, JsonInferenceOnSimple) {
  httplib::Result result = Post("/v2/models/simple/infer", SimpleJson());
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const Json reply = BodyJson(result);
  EXPECT_EQ(reply["id"], "s1");
  EXPECT_EQ(reply["model_name"], "simple");
  EXPECT_EQ(reply["model_version"], "1");
  ASSERT_EQ(reply["outputs"].size(), 2u);
  EXPECT_EQ(reply["outputs"][0]["name"], "OUTPUT0");
  EXPECT_EQ(reply["outputs"][0]["shape"], Json::parse("[1, 16]"));
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(reply["outputs"][0]["data"][i], i + (i + 1));  // sum
    EXPECT_EQ(reply["outputs"][1]["data"][i], -1);           // difference
  }
}

TEST_F(HttpEndToEndTest, BinaryInferenceOnIdentityAndSimple) {
  const std::string json = R"({"inputs": [{"name": "INPUT0", "shape": [2, 3], "datatype": "FP32",
      "parameters": {"binary_data_size": 24}}], "parameters": {"binary_data_output": true}})";
  const std::vector<float> values = {1.5f, -2.25f, 3.0f, 0.1f, 1e-8f, 65504.0f};
  const std::string input(reinterpret_cast<const char*>(values.data()), 24);
  httplib::Result result = Post("/v2/models/identity/infer", json + input,
                                {{"Inference-Header-Content-Length", std::to_string(json.size())}});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/octet-stream");
  Json reply;
  std::string binary;
  ASSERT_NO_FATAL_FAILURE(Split(result, &reply, &binary));
  EXPECT_EQ(reply["outputs"][0]["parameters"]["binary_data_size"], 24);
  EXPECT_EQ(reply["outputs"][0]["shape"], Json::parse("[2, 3]"));
  EXPECT_EQ(binary, input);

  // simple: INPUT0 in JSON, INPUT1 in binary; OUTPUT0 in binary, OUTPUT1 in JSON.
  std::vector<int32_t> ones(16, 1);
  const std::string mixed = absl::StrCat(R"({"inputs": [
      {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": [)",
                                         Sequence(16), R"(]},
      {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32",
       "parameters": {"binary_data_size": 64}}],
      "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": true}},
                  {"name": "OUTPUT1", "parameters": {"binary_data": false}}]})");
  result = Post("/v2/models/simple/infer",
                mixed + std::string(reinterpret_cast<const char*>(ones.data()), 64),
                {{"Inference-Header-Content-Length", std::to_string(mixed.size())}});
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  ASSERT_NO_FATAL_FAILURE(Split(result, &reply, &binary));
  ASSERT_EQ(binary.size(), 64u);
  std::vector<int32_t> sums(16);
  std::memcpy(sums.data(), binary.data(), 64);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(sums[i], i + 1);
    EXPECT_EQ(reply["outputs"][1]["data"][i], i - 1);
  }
}

TEST_F(HttpEndToEndTest, SameRequestSameAnswerOverGrpcAndRest) {
  for (const char* model : {"identity", "simple"}) {
    std::vector<HostTensor> inputs;
    if (std::string(model) == "identity") {
      auto input = GenerateInput("INPUT0", "FP32", {3, 100}, FillMode::kRandom, 11);
      ASSERT_TRUE(input.ok());
      inputs.push_back(*input);
    } else {
      for (const char* name : {"INPUT0", "INPUT1"}) {
        auto input = GenerateInput(name, "INT32", {2, 16}, FillMode::kRandom, name[5], -1000, 1000);
        ASSERT_TRUE(input.ok());
        inputs.push_back(*input);
      }
    }
    auto grpc_reply = grpc_->Infer(MakeInferRequest(model, "", inputs, {}));
    ASSERT_TRUE(grpc_reply.ok()) << grpc_reply.status();
    auto grpc_outputs = OutputsFromResponse(*grpc_reply);
    ASSERT_TRUE(grpc_outputs.ok());

    Json request = {{"parameters", {{"binary_data_output", true}}}, {"inputs", Json::array()}};
    std::string binary_inputs;
    for (const HostTensor& input : inputs) {
      request["inputs"].push_back({{"name", input.name},
                                   {"shape", input.shape},
                                   {"datatype", input.datatype},
                                   {"parameters", {{"binary_data_size", input.bytes.size()}}}});
      binary_inputs += input.bytes;
    }
    const std::string json = request.dump();
    httplib::Result result =
        Post(absl::StrCat("/v2/models/", model, "/infer"), json + binary_inputs,
             {{"Inference-Header-Content-Length", std::to_string(json.size())}});
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200) << result->body;
    Json reply;
    std::string binary;
    ASSERT_NO_FATAL_FAILURE(Split(result, &reply, &binary));
    EXPECT_EQ(reply["model_name"], grpc_reply->model_name());
    EXPECT_EQ(reply["model_version"], grpc_reply->model_version());
    ASSERT_EQ(reply["outputs"].size(), grpc_outputs->size()) << model;
    size_t offset = 0;
    for (size_t i = 0; i < grpc_outputs->size(); ++i) {
      const HostTensor& expected = (*grpc_outputs)[i];
      const Json& output = reply["outputs"][i];
      EXPECT_EQ(output["name"], expected.name);
      EXPECT_EQ(output["datatype"], expected.datatype);
      EXPECT_EQ(output["shape"], Json(expected.shape));
      const size_t size = output["parameters"]["binary_data_size"].get<size_t>();
      EXPECT_EQ(binary.substr(offset, size), expected.bytes) << model << " " << expected.name;
      offset += size;
    }
    EXPECT_EQ(offset, binary.size());
  }
}

TEST_F(HttpEndToEndTest, BadRequestsGetPreciseErrorsAndTheServerGoesOn) {
  struct Case {
    std::string path;
    std::string body;
    int status;
    std::string message;
  };
  const std::string binary_json = R"({"inputs": [
      {"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "parameters": {"binary_data_size": 64}},
      {"name": "INPUT1", "shape": [1, 16], "datatype": "INT32", "parameters": {"binary_data_size": 64}}]})";
  const std::vector<Case> cases = {
      {"/v2/models/simple/infer", R"({"inputs": [{"name": "INPUT0",)", 400,
       "the request's JSON is malformed (byte 31 of 30)"},
      {"/v2/models/simple/infer",
       R"({"inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "INT32", "data": [1, 2]}]})",
       400, "input 'INPUT0': 'data' holds 2 values; shape [1, 16] needs 16"},
      {"/v2/models/simple/infer",
       absl::StrCat(R"({"inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "INT32",
           "data": [)",
                    Sequence(15), R"(, 1.5]}]})"),
       400, "input 'INPUT0': element 15 of 'data' is a number (1.5); INT32 takes integers"},
      {"/v2/models/simple/infer",
       absl::StrCat(R"({"inputs": [{"name": "INPUT0", "shape": [1, 16], "datatype": "FP32",
           "data": [)",
                    Sequence(16), R"(]}, {"name": "INPUT1", "shape": [1, 16],
           "datatype": "INT32", "data": [)",
                    Sequence(16), "]}]}"),
       400, "model 'simple': input 'INPUT0': datatype 'FP32' does not match INT32"},
      {"/v2/models/nope/infer", SimpleJson(), 404,
       "Request for unknown model: 'nope' is not in the repository"},
      {"/v2/models/simple/versions/9/infer", SimpleJson(), 404, "has no version '9'"},
      // Triton answers UNAVAILABLE when the model control mode forbids explicit loads.
      {"/v2/repository/models/simple/load", "{}", 503,
       "cannot load model 'simple': explicit model load / unload is not allowed"},
      {"/v2/repository/models/simple/unload", "{}", 503,
       "cannot unload model 'simple': explicit model load / unload is not allowed"},
      {"/v2/models/simple/generate", "{}", 404, "no KServe v2 route for POST"},
  };
  for (const Case& c : cases) {
    httplib::Result result = Post(c.path, c.body);
    ASSERT_TRUE(result) << c.path;
    EXPECT_EQ(result->status, c.status) << c.path << " " << c.body << "\n" << result->body;
    EXPECT_THAT(Error(result), HasSubstr(c.message)) << c.body;
    ExpectStillServing();
  }

  // Binary sections shorter and longer than declared.
  const httplib::Headers length = {
      {"Inference-Header-Content-Length", std::to_string(binary_json.size())}};
  httplib::Result result =
      Post("/v2/models/simple/infer", binary_json + std::string(100, '\0'), length);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(Error(result),
              HasSubstr("input 'INPUT1': 'binary_data_size' is 64 bytes but only 36 bytes"));
  ExpectStillServing();
  result = Post("/v2/models/simple/infer", binary_json + std::string(130, '\0'), length);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(Error(result), HasSubstr("2 bytes of binary data beyond what the inputs declare"));
  ExpectStillServing();

  // Unknown paths and wrong methods.
  result = http_->Get("/v2/models/simple/infer");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 405);
  EXPECT_EQ(result->get_header_value("Allow"), "POST");
  ExpectStillServing();
  result = Post("/v2/health/ready", "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 405);
  EXPECT_EQ(result->get_header_value("Allow"), "GET, HEAD");
  ExpectStillServing();
  result = http_->Get("/v1/models");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(Error(result), "no KServe v2 route for GET /v1/models");
  ExpectStillServing();

  // A body over --http-max-body-bytes, refused from its Content-Length.
  result = Post("/v2/models/identity/infer", std::string(2 * kMaxBodyBytes, ' '));
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 413);
  EXPECT_THAT(Error(result), HasSubstr(absl::StrCat("this server takes at most ", kMaxBodyBytes,
                                                    " (--http-max-body-bytes)")));
  ExpectStillServing();
}

TEST_F(HttpEndToEndTest, OneKeepAliveConnectionServesManyRequests) {
  for (int i = 0; i < 50; ++i) ASSERT_NO_FATAL_FAILURE(ExpectStillServing());
}

}  // namespace
}  // namespace speech
