// Protobuf messages to Triton's JSON: field names, defaults, enums, 64-bit integers as numbers
// (plain, repeated, nested and in maps), and every statistics duration present.
#include "server/http/json/message_json.h"

#include <google/protobuf/text_format.h>

#include <string>

#include "gtest/gtest.h"
#include "proto/grpc_service.pb.h"
#include "proto/model_config.pb.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;

Json ToJson(const google::protobuf::Message& message) {
  absl::StatusOr<Json> json = MessageToJson(message);
  EXPECT_TRUE(json.ok()) << json.status();
  return json.ok() ? *json : Json();
}

TEST(MessageToJsonTest, ModelMetadataAsTritonWritesIt) {
  inference::ModelMetadataResponse metadata;
  metadata.set_name("simple");
  metadata.add_versions("1");
  metadata.set_platform("pytorch_libtorch");
  auto* input = metadata.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("INT32");
  input->add_shape(-1);
  input->add_shape(16);
  EXPECT_EQ(ToJson(metadata).dump(),
            R"({"name":"simple","versions":["1"],"platform":"pytorch_libtorch",)"
            R"("inputs":[{"name":"INPUT0","datatype":"INT32","shape":[-1,16]}],"outputs":[]})");
}

TEST(MessageToJsonTest, ModelConfigHasNumbersEnumNamesAndNoUnsetMessages) {
  inference::ModelConfig config;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "identity"
        platform: "pytorch_libtorch"
        max_batch_size: 8
        input {
          name: "INPUT0"
          data_type: TYPE_FP32
          dims: [ -1, 80 ]
        }
        output {
          name: "OUTPUT0"
          data_type: TYPE_FP32
          dims: [ 4 ]
        }
        dynamic_batching {
          preferred_batch_size: [ 4, 8 ]
          max_queue_delay_microseconds: 100
          default_queue_policy { default_timeout_microseconds: 18446744073709551615 }
        }
        parameters {
          key: "k"
          value { string_value: "v" }
        }
      )pb",
      &config));
  const Json json = ToJson(config);
  EXPECT_EQ(json["name"], "identity");
  EXPECT_EQ(json["max_batch_size"], 8);
  EXPECT_EQ(json["input"][0]["data_type"], "TYPE_FP32");
  EXPECT_EQ(json["input"][0]["dims"].dump(), "[-1,80]");
  EXPECT_EQ(json["output"][0]["dims"].dump(), "[4]");
  EXPECT_EQ(json["dynamic_batching"]["max_queue_delay_microseconds"].dump(), "100");
  EXPECT_EQ(json["dynamic_batching"]["preferred_batch_size"].dump(), "[4,8]");
  EXPECT_EQ(json["dynamic_batching"]["default_queue_policy"]["default_timeout_microseconds"].dump(),
            "18446744073709551615");
  EXPECT_EQ(json["parameters"]["k"]["string_value"], "v");
  // Unset messages stay absent: clients look for "sequence_batching" to tell a sequence model.
  EXPECT_FALSE(json.contains("sequence_batching"));
  EXPECT_FALSE(json.contains("ensemble_scheduling"));
  // Defaults of primitive fields are printed.
  EXPECT_EQ(json["backend"], "");
}

TEST(MessageToJsonTest, StatisticsAreNumbersWithEveryDuration) {
  inference::ModelStatisticsResponse response;
  inference::ModelStatistics* stats = response.add_model_stats();
  stats->set_name("identity");
  stats->set_version("1");
  stats->set_inference_count(12345678901234ull);
  stats->mutable_inference_stats()->mutable_success()->set_count(3);
  stats->mutable_inference_stats()->mutable_success()->set_ns(999);
  stats->add_batch_stats()->set_batch_size(4);
  (*stats->mutable_response_stats())["0"].mutable_success()->set_ns(5);
  auto* memory = stats->add_memory_usage();
  memory->set_id(-1);
  SetAllMessageFields(&response);
  const Json json = ToJson(response);
  const Json& model = json["model_stats"][0];
  EXPECT_EQ(model["inference_count"].dump(), "12345678901234");
  EXPECT_EQ(model["execution_count"].dump(), "0");
  EXPECT_EQ(model["last_inference"].dump(), "0");
  EXPECT_EQ(model["inference_stats"]["success"].dump(), R"({"count":3,"ns":999})");
  for (const char* duration : {"fail", "queue", "compute_input", "compute_infer", "compute_output",
                               "cache_hit", "cache_miss"}) {
    EXPECT_EQ(model["inference_stats"][duration].dump(), R"({"count":0,"ns":0})") << duration;
  }
  EXPECT_EQ(model["batch_stats"][0]["batch_size"].dump(), "4");
  EXPECT_EQ(model["batch_stats"][0]["compute_infer"].dump(), R"({"count":0,"ns":0})");
  EXPECT_EQ(model["response_stats"]["0"]["success"]["ns"].dump(), "5");
  EXPECT_EQ(model["response_stats"]["0"]["cancel"].dump(), R"({"count":0,"ns":0})");
  EXPECT_EQ(model["memory_usage"][0]["id"].dump(), "-1");
}

TEST(MessageToJsonTest, RepositoryIndexAndServerMetadata) {
  inference::RepositoryIndexResponse index;
  auto* model = index.add_models();
  model->set_name("simple");
  model->set_version("1");
  model->set_state("READY");
  EXPECT_EQ(ToJson(index).dump(),
            R"({"models":[{"name":"simple","version":"1","state":"READY","reason":""}]})");
  inference::ServerMetadataResponse metadata;
  metadata.set_name("speech");
  metadata.add_extensions("statistics");
  EXPECT_EQ(ToJson(metadata).dump(),
            R"({"name":"speech","version":"","extensions":["statistics"]})");
}

}  // namespace
}  // namespace speech
