// The REST adapter end to end in one process (http_test_support.h), over real HTTP: every route's
// reply and status, JSON and binary inference for every datatype, and compressed requests.
// Errors, limits, hang-ups and shutdown: http_service_errors_test.cc.
#include "server/http/http_service.h"

#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_test_support.h"
#include "server/shared_memory/shared_memory_test_support.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST_F(HttpServiceTest, HealthIsAStatusCodeWithNoBody) {
  for (const char* path : {"/v2/health/live", "/v2/health/ready"}) {
    httplib::Result result = client_->Get(path);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200) << path;
    EXPECT_EQ(result->body, "") << path;
    result = client_->Head(path);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200) << path;
  }
}

TEST_F(HttpServiceTest, ServerMetadata) {
  httplib::Result result = client_->Get("/v2");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(BodyJson(result),
            Json::parse(R"({"name": "test-server", "version": "9.8.7", "extensions":
                ["model_configuration", "model_repository", "schedule_policy", "parameters",
                 "statistics", "system_shared_memory"]})"));
}

TEST_F(HttpServiceTest, ModelMetadataAndItsErrors) {
  httplib::Result result = client_->Get("/v2/models/identity");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_EQ(BodyJson(result),
            Json::parse(R"({"name": "identity", "versions": ["1"], "platform": "pytorch_libtorch",
                "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [-1, 4]}],
                "outputs": [{"name": "OUTPUT0", "datatype": "FP32", "shape": [-1, 4]}]})"));
  result = client_->Get("/v2/models/nobatch/versions/1");
  ASSERT_TRUE(result);
  EXPECT_EQ(BodyJson(result)["inputs"][0]["shape"], Json::parse("[2]"));

  result = client_->Get("/v2/models/missing");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_THAT(Error(result),
              HasSubstr("Request for unknown model: 'missing' is not in the repository"));
  result = client_->Get("/v2/models/identity/versions/7");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_THAT(Error(result), HasSubstr("has no version '7'"));
}

TEST_F(HttpServiceTest, ModelReadyIs200Or400) {
  for (const char* path : {"/v2/models/identity/ready", "/v2/models/identity/versions/1/ready",
                           "/v2/models/nobatch/ready"}) {
    httplib::Result result = client_->Get(path);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200) << path;
  }
  httplib::Result result = client_->Get("/v2/models/missing/ready");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(Error(result), "model 'missing' is not ready");
  result = client_->Get("/v2/models/identity/versions/2/ready");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(Error(result), "model 'identity' version '2' is not ready");
}

TEST_F(HttpServiceTest, ModelConfigIsTheConfigurationItself) {
  httplib::Result result = client_->Get("/v2/models/identity/config");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  const Json config = BodyJson(result);
  EXPECT_EQ(config["name"], "identity");
  EXPECT_EQ(config["platform"], "pytorch_libtorch");
  EXPECT_EQ(config["max_batch_size"], 8);
  EXPECT_EQ(config["input"][0]["data_type"], "TYPE_FP32");
  EXPECT_EQ(config["input"][0]["dims"], Json::parse("[4]"));  // numbers, not strings
  result = client_->Get("/v2/models/missing/versions/1/config");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
}

TEST_F(HttpServiceTest, StatisticsOfOneModelAndOfAll) {
  ExpectStillServing();
  httplib::Result result = client_->Get("/v2/models/identity/stats");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  Json stats = BodyJson(result)["model_stats"];
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0]["name"], "identity");
  EXPECT_EQ(stats[0]["version"], "1");
  EXPECT_EQ(stats[0]["inference_count"], 2);
  EXPECT_EQ(stats[0]["execution_count"], 1);
  EXPECT_EQ(stats[0]["inference_stats"]["success"]["count"], 1);
  EXPECT_EQ(stats[0]["inference_stats"]["cache_hit"], Json::parse(R"({"count": 0, "ns": 0})"));

  result = client_->Get("/v2/models/stats");
  ASSERT_TRUE(result);
  stats = BodyJson(result)["model_stats"];
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[0]["name"], "identity");
  EXPECT_EQ(stats[1]["name"], "nobatch");
  EXPECT_EQ(stats[1]["inference_stats"]["fail"]["count"], 0);

  result = client_->Get("/v2/models/missing/stats");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
}

TEST_F(HttpServiceTest, RepositoryIndexIsTheListOfModels) {
  httplib::Result result = client_->Post("/v2/repository/index", "", "application/json");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  const Json index = BodyJson(result);
  ASSERT_TRUE(index.is_array());
  ASSERT_EQ(index.size(), 3u);
  EXPECT_EQ(index[0], Json::parse(R"({"name": "identity", "version": "1", "state": "READY",
                                      "reason": ""})"));
  // Without Content-Length, as Python's geventhttpclient sends an empty POST: no body.
  const std::string reply =
      RawExchange(service_->port(),
                  "POST /v2/repository/index HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
  EXPECT_THAT(reply, ::testing::StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(reply, HasSubstr(R"([{"name":"identity","version":"1")"));
  result = PostJson("/v2/repository/index", R"({"ready": true})");
  ASSERT_TRUE(result);
  EXPECT_EQ(BodyJson(result).size(), 3u);
  result = PostJson("/v2/repository/index", R"({"ready": "yes"})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(
      Error(result),
      HasSubstr("'ready' of the repository index request must be true or false; was string"));
  result = PostJson("/v2/repository/index", "{");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
}

TEST_F(HttpServiceTest, LoadAndUnloadAnswerWhatTheCoreAnswers) {
  httplib::Result result = PostJson("/v2/repository/models/identity/load", "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_THAT(Error(result), HasSubstr("cannot load model 'identity'"));
  result = PostJson("/v2/repository/models/nobatch/unload",
                    R"({"parameters": {"unload_dependents": false}})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_THAT(Error(result), HasSubstr("cannot unload model 'nobatch'"));
  // A body that is not a load request is refused before the core sees it.
  result = PostJson("/v2/repository/models/identity/load", R"({"parameters": []})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(Error(result), HasSubstr("'parameters' of the model load request must be an object"));
}

TEST_F(HttpServiceTest, JsonInference) {
  httplib::Result result = PostJson("/v2/models/identity/infer", kIdentityJson);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  EXPECT_FALSE(result->has_header("Inference-Header-Content-Length"));
  EXPECT_EQ(BodyJson(result),
            Json::parse(R"({"id": "j1", "model_name": "identity", "model_version": "1",
                "outputs": [{"name": "OUTPUT0", "datatype": "FP32", "shape": [2, 4],
                             "data": [1, 2, 3, 4, 0.5, 0.25, -1, 8]}]})"));
  EXPECT_THAT(factory_.batch_rows(kIdentity), ::testing::ElementsAre(8, 2));
  // The version in the URL.
  result = PostJson("/v2/models/nobatch/versions/1/infer",
                    R"({"inputs": [{"name": "INPUT0", "shape": [2], "datatype": "INT32",
                                    "data": [-7, 123456]}]})");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(BodyJson(result)["outputs"][0]["data"], Json::parse("[-7, 123456]"));
  EXPECT_FALSE(BodyJson(result).contains("id"));
}

TEST_F(HttpServiceTest, BinaryInferenceBothWays) {
  const std::string json = R"({"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32",
      "parameters": {"binary_data_size": 16}}],
      "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": true}}]})";
  const std::string input = RawBytes<float>({1.5f, -2, 3, 4});
  httplib::Result result = PostBinary("/v2/models/identity/infer", json, input);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/octet-stream");
  size_t json_length = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(result->get_header_value("Inference-Header-Content-Length"), &json_length));
  ASSERT_LE(json_length, result->body.size());
  const Json reply = Json::parse(result->body.substr(0, json_length));
  EXPECT_EQ(reply["outputs"][0]["parameters"]["binary_data_size"], 16);
  EXPECT_FALSE(reply["outputs"][0].contains("data"));
  EXPECT_EQ(result->body.substr(json_length), input);

  // Binary input, JSON output (the default when nothing asks for binary).
  const std::string json_out = R"({"inputs": [{"name": "INPUT0", "shape": [1, 4],
      "datatype": "FP32", "parameters": {"binary_data_size": 16}}]})";
  result = PostBinary("/v2/models/identity/infer", json_out, input);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(BodyJson(result)["outputs"][0]["data"], Json::parse("[1.5, -2, 3, 4]"));

  // JSON input, every output in binary.
  result = PostJson("/v2/models/nobatch/infer",
                    R"({"parameters": {"binary_data_output": true},
                        "inputs": [{"name": "INPUT0", "shape": [2], "datatype": "INT32",
                                    "data": [5, 6]}]})");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  ASSERT_TRUE(
      absl::SimpleAtoi(result->get_header_value("Inference-Header-Content-Length"), &json_length));
  EXPECT_EQ(result->body.substr(json_length), RawBytes<int32_t>({5, 6}));
}

TEST_F(HttpServiceTest, SystemSharedMemoryRegisterInferStatusUnregister) {
  TestSharedMemory object("http_service_shm", 128);
  const std::string input = RawBytes<float>({1.5f, -2, 3, 4});
  std::memcpy(object.data() + 16, input.data(), input.size());
  const std::string register_body =
      absl::StrCat(R"({"key": ")", object.key(), R"(", "offset": 0, "byte_size": 128})");
  httplib::Result result = PostJson("/v2/systemsharedmemory/region/io/register", register_body);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  result = PostJson("/v2/systemsharedmemory/region/io/register", register_body);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 409);
  EXPECT_THAT(Error(result), HasSubstr("already registered"));

  result = client_->Get("/v2/systemsharedmemory/status");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(BodyJson(result), Json::parse(absl::StrCat(R"([{"name": "io", "key": ")", object.key(),
                                                       R"(", "offset": 0, "byte_size": 128}])")));

  // INPUT0 read at offset 16, OUTPUT0 written at offset 64.
  result = PostJson("/v2/models/identity/infer", R"({"inputs": [{"name": "INPUT0",
      "shape": [1, 4], "datatype": "FP32", "parameters": {"shared_memory_region": "io",
      "shared_memory_byte_size": 16, "shared_memory_offset": 16}}],
      "outputs": [{"name": "OUTPUT0", "parameters": {"shared_memory_region": "io",
      "shared_memory_byte_size": 16, "shared_memory_offset": 64}}]})");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const Json reply = BodyJson(result);
  EXPECT_FALSE(reply["outputs"][0].contains("data"));
  EXPECT_EQ(reply["outputs"][0]["parameters"]["shared_memory_region"], "io");
  EXPECT_EQ(std::string(object.data() + 64, 16), input);

  // An output region too small for the output.
  result = PostJson("/v2/models/identity/infer", R"({"inputs": [{"name": "INPUT0",
      "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}],
      "outputs": [{"name": "OUTPUT0", "parameters": {"shared_memory_region": "io",
      "shared_memory_byte_size": 8}}]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400) << result->body;
  EXPECT_THAT(Error(result), AllOf(HasSubstr("OUTPUT0"), HasSubstr("8")));

  result = PostJson("/v2/systemsharedmemory/region/io/unregister", "");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
  result = client_->Get("/v2/systemsharedmemory/region/io/status");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_THAT(Error(result), HasSubstr("'io'"));
  result = PostJson("/v2/systemsharedmemory/region/ghost/register",
                    R"({"key": "/speech_http_no_such_object", "byte_size": 8})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_THAT(Error(result), HasSubstr("/speech_http_no_such_object"));
  result = PostJson("/v2/systemsharedmemory/region/bad/register", R"({"key": 3})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(Error(result), HasSubstr("'key' of the shared-memory register request"));
  ExpectStillServing();
}

TEST_F(HttpServiceTest, CudaSharedMemoryAsTritonsClientsCleanUp) {
  httplib::Result result = PostJson("/v2/cudasharedmemory/unregister", "");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
  result = client_->Get("/v2/cudasharedmemory/status");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(BodyJson(result), Json::array());
  result = PostJson("/v2/cudasharedmemory/region/g/register", R"({"device_id": 0})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 501) << result->body;
  EXPECT_THAT(Error(result), HasSubstr("system shared memory only"));
  result = client_->Get("/v2/cudasharedmemory/region/g/status");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404) << result->body;
}

TEST_F(HttpServiceTest, EveryDatatypeInJsonAndInBinary) {
  const std::string json = R"({"inputs": [
      {"name": "BOOL", "shape": [2], "datatype": "BOOL", "data": [true, false]},
      {"name": "UINT8", "shape": [2], "datatype": "UINT8", "data": [0, 255]},
      {"name": "INT16", "shape": [2], "datatype": "INT16", "data": [-32768, 7]},
      {"name": "INT64", "shape": [2], "datatype": "INT64", "data": [-9007199254740993, 1]},
      {"name": "FP16", "shape": [2], "datatype": "FP16", "data": [1.5, -0.25]},
      {"name": "FP64", "shape": [2], "datatype": "FP64", "data": [0.1, 1e300]}]})";
  httplib::Result result = PostJson("/v2/models/types/infer", json);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const Json outputs = BodyJson(result)["outputs"];
  ASSERT_EQ(outputs.size(), 6u);
  EXPECT_EQ(outputs[0]["data"], Json::parse("[true, false]"));
  EXPECT_EQ(outputs[1]["data"], Json::parse("[0, 255]"));
  EXPECT_EQ(outputs[2]["data"], Json::parse("[-32768, 7]"));
  EXPECT_EQ(outputs[3]["data"], Json::parse("[-9007199254740993, 1]"));
  EXPECT_EQ(outputs[4]["data"], Json::parse("[1.5, -0.25]"));
  EXPECT_EQ(outputs[5]["data"], Json::parse("[0.1, 1e300]"));
  EXPECT_EQ(outputs[4]["datatype"], "FP16");

  // The same in binary.
  result = PostJson("/v2/models/types/infer",
                    std::string(json).insert(1, R"("parameters": {"binary_data_output": true},)"));
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  size_t json_length = 0;
  ASSERT_TRUE(
      absl::SimpleAtoi(result->get_header_value("Inference-Header-Content-Length"), &json_length));
  const std::string binary = result->body.substr(json_length);
  EXPECT_EQ(binary.size(), 2 * (1 + 1 + 2 + 8 + 2 + 8));
  EXPECT_EQ(binary.substr(0, 2), std::string("\1\0", 2));
  EXPECT_EQ(binary.substr(4, 4), RawBytes<int16_t>({-32768, 7}));
}

TEST_F(HttpServiceTest, CompressedRequestsUncompressedReplies) {
  client_->set_compress(true);  // gzip request bodies
  httplib::Result result = PostJson("/v2/models/identity/infer", kIdentityJson);
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  client_->set_compress(false);
  // Replies come uncompressed whatever the client accepts (Triton's clients read metadata and
  // statistics replies undecoded).
  client_->set_decompress(false);
  httplib::Headers headers = {{"Accept-Encoding", "gzip, deflate, br"}};
  result = client_->Get("/v2/models/identity/stats", headers);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_FALSE(result->has_header("Content-Encoding"));
  EXPECT_EQ(BodyJson(result)["model_stats"][0]["name"], "identity");
}

}  // namespace
}  // namespace speech
