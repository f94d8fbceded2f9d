// ReadModelConfig: every supported field of a config.pbtxt, parse errors that name the file, line
// and column, and the checked-in Triton configuration, read and validated unchanged.
#include "server/repository/config/model_config.h"

#include <google/protobuf/util/message_differencer.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/repository/config/config_test_support.h"

namespace speech {
namespace {

using ::google::protobuf::util::MessageDifferencer;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A model directory `name` holding `config_text` as its config.pbtxt; returns its path.
std::string ModelDirectory(const std::string& name, const std::string& config_text) {
  const std::string directory = FreshDirectory(name);
  WriteFile(directory + "/config.pbtxt", config_text);
  return directory;
}

// --- ReadModelConfig -------------------------------------------------------------------------

TEST(ReadModelConfigTest, ParsesEverySupportedField) {
  const std::string directory = ModelDirectory("tts", R"txt(
name: "tts"
platform: "pytorch_libtorch"
backend: "pytorch"
max_batch_size: 16
input [
  { name: "TEXT" data_type: TYPE_INT64 dims: [ -1 ] },
  { name: "SPEAKER" data_type: TYPE_INT32 dims: [ 1 ] reshape { shape: [ ] } }
]
output [
  { name: "MEL" data_type: TYPE_FP16 dims: [ 80, -1 ] },
  { name: "LENGTHS" data_type: TYPE_INT64 dims: [ 1 ] reshape { shape: [ ] } }
]
dynamic_batching {
  max_queue_delay_microseconds: 100
  preferred_batch_size: [ 4, 8 ]
  preserve_ordering: true
  default_queue_policy {
    max_queue_size: 32
    default_timeout_microseconds: 5000
    allow_timeout_override: true
    timeout_action: DELAY
  }
}
instance_group [
  { count: 2 kind: KIND_GPU gpus: [ 0, 1 ] },
  { count: 3 kind: KIND_CPU }
]
version_policy { specific { versions: [ 1, 3 ] } }
default_model_filename: "fastpitch.pt"
parameters { key: "execute_inline_when_idle" value { string_value: "true" } }
model_warmup [
  {
    name: "short"
    batch_size: 4
    count: 2
    inputs { key: "TEXT" value { data_type: TYPE_INT64 dims: [ 32 ] random_data: true } }
    inputs { key: "SPEAKER" value { data_type: TYPE_INT32 dims: [ 1 ] zero_data: true } }
  },
  {
    name: "from_file"
    batch_size: 1
    inputs { key: "TEXT" value { data_type: TYPE_INT64 dims: [ 7 ] input_data_file: "text.bin" } }
    inputs { key: "SPEAKER" value { data_type: TYPE_INT32 dims: [ 1 ] zero_data: true } }
  }
]
)txt");

  absl::StatusOr<inference::ModelConfig> config = ReadModelConfig(directory);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name(), "tts");
  EXPECT_EQ(config->platform(), "pytorch_libtorch");
  EXPECT_EQ(config->backend(), "pytorch");
  EXPECT_EQ(config->max_batch_size(), 16);

  ASSERT_EQ(config->input_size(), 2);
  EXPECT_EQ(config->input(0).name(), "TEXT");
  EXPECT_EQ(config->input(0).data_type(), inference::TYPE_INT64);
  EXPECT_THAT(config->input(0).dims(), ElementsAre(-1));
  EXPECT_FALSE(config->input(0).has_reshape());
  EXPECT_EQ(config->input(1).name(), "SPEAKER");
  EXPECT_EQ(config->input(1).data_type(), inference::TYPE_INT32);
  EXPECT_THAT(config->input(1).dims(), ElementsAre(1));
  EXPECT_TRUE(config->input(1).has_reshape());
  EXPECT_THAT(config->input(1).reshape().shape(), IsEmpty());

  ASSERT_EQ(config->output_size(), 2);
  EXPECT_EQ(config->output(0).name(), "MEL");
  EXPECT_EQ(config->output(0).data_type(), inference::TYPE_FP16);
  EXPECT_THAT(config->output(0).dims(), ElementsAre(80, -1));
  EXPECT_EQ(config->output(1).name(), "LENGTHS");
  EXPECT_TRUE(config->output(1).has_reshape());

  ASSERT_TRUE(config->has_dynamic_batching());
  const inference::ModelDynamicBatching& batching = config->dynamic_batching();
  EXPECT_EQ(batching.max_queue_delay_microseconds(), 100u);
  EXPECT_THAT(batching.preferred_batch_size(), ElementsAre(4, 8));
  EXPECT_TRUE(batching.preserve_ordering());
  const inference::ModelQueuePolicy& policy = batching.default_queue_policy();
  EXPECT_EQ(policy.max_queue_size(), 32u);
  EXPECT_EQ(policy.default_timeout_microseconds(), 5000u);
  EXPECT_TRUE(policy.allow_timeout_override());
  EXPECT_EQ(policy.timeout_action(), inference::ModelQueuePolicy::DELAY);

  ASSERT_EQ(config->instance_group_size(), 2);
  EXPECT_EQ(config->instance_group(0).count(), 2);
  EXPECT_EQ(config->instance_group(0).kind(), inference::ModelInstanceGroup::KIND_GPU);
  EXPECT_THAT(config->instance_group(0).gpus(), ElementsAre(0, 1));
  EXPECT_EQ(config->instance_group(1).count(), 3);
  EXPECT_EQ(config->instance_group(1).kind(), inference::ModelInstanceGroup::KIND_CPU);
  EXPECT_THAT(config->instance_group(1).gpus(), IsEmpty());

  ASSERT_TRUE(config->version_policy().has_specific());
  EXPECT_THAT(config->version_policy().specific().versions(), ElementsAre(1, 3));
  EXPECT_EQ(config->default_model_filename(), "fastpitch.pt");
  ASSERT_EQ(config->parameters().count("execute_inline_when_idle"), 1u);
  EXPECT_EQ(config->parameters().at("execute_inline_when_idle").string_value(), "true");

  ASSERT_EQ(config->model_warmup_size(), 2);
  const inference::ModelWarmup& warmup = config->model_warmup(0);
  EXPECT_EQ(warmup.name(), "short");
  EXPECT_EQ(warmup.batch_size(), 4u);
  EXPECT_EQ(warmup.count(), 2u);
  ASSERT_EQ(warmup.inputs().count("TEXT"), 1u);
  EXPECT_EQ(warmup.inputs().at("TEXT").data_type(), inference::TYPE_INT64);
  EXPECT_THAT(warmup.inputs().at("TEXT").dims(), ElementsAre(32));
  EXPECT_TRUE(warmup.inputs().at("TEXT").random_data());
  EXPECT_TRUE(warmup.inputs().at("SPEAKER").zero_data());
  EXPECT_EQ(config->model_warmup(1).inputs().at("TEXT").input_data_file(), "text.bin");

  // Everything given is supported, and validation keeps what was given.
  const inference::ModelConfig read = *config;
  ASSERT_TRUE(ValidateModelConfig("tts", &*config).ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*config, read));
}

TEST(ReadModelConfigTest, ParsesVersionPolicyLatestAndAll) {
  absl::StatusOr<inference::ModelConfig> latest =
      ReadModelConfig(ModelDirectory("latest", "version_policy { latest { num_versions: 2 } }\n"));
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_TRUE(latest->version_policy().has_latest());
  EXPECT_EQ(latest->version_policy().latest().num_versions(), 2u);

  absl::StatusOr<inference::ModelConfig> all =
      ReadModelConfig(ModelDirectory("all", "version_policy: { all { } }\n"));
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_TRUE(all->version_policy().has_all());
}

TEST(ReadModelConfigTest, MissingFileIsNotFound) {
  const std::string directory = FreshDirectory("empty");
  EXPECT_THAT(ReadModelConfig(directory).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr(directory + "/config.pbtxt"), HasSubstr("file not found"))));
}

TEST(ReadModelConfigTest, ParseErrorNamesFileLineColumnAndQuotesTheLine) {
  const std::string directory = ModelDirectory("m",
                                               "name: \"m\"\n"
                                               "platform: \"pytorch_libtorch\"\n"
                                               "max_batch_size: \"eight\"\n");
  EXPECT_THAT(ReadModelConfig(directory).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(directory + "/config.pbtxt:3:17: "),
                             HasSubstr("Expected integer, got: \"eight\""),
                             HasSubstr("(in `max_batch_size: \"eight\"`)"))));
}

TEST(ReadModelConfigTest, UnknownFieldIsRefusedWithItsName) {
  const std::string directory = ModelDirectory("m",
                                               "name: \"m\"\n"
                                               "dynamic_batching {\n"
                                               "  max_queue_delay_micros: 100\n"
                                               "}\n");
  EXPECT_THAT(ReadModelConfig(directory).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr(directory + "/config.pbtxt:3:"),
                             HasSubstr("no field named \"max_queue_delay_micros\""),
                             HasSubstr("(in `max_queue_delay_micros: 100`)"))));
}

TEST(ReadModelConfigTest, UnknownEnumValueIsRefused) {
  const std::string directory =
      ModelDirectory("m", "input { name: \"x\" data_type: TYPE_FLOAT32 dims: [ 1 ] }\n");
  EXPECT_THAT(
      ReadModelConfig(directory).status(),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr(directory + "/config.pbtxt:1:"), HasSubstr("TYPE_FLOAT32"))));
}

// --- The checked-in Triton configuration ---------------------------------------------------------

std::string RunfilePath(const std::string& path) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  EXPECT_NE(srcdir, nullptr) << "run under bazel test";
  EXPECT_NE(workspace, nullptr) << "run under bazel test";
  if (srcdir == nullptr || workspace == nullptr) return path;
  return absl::StrCat(srcdir, "/", workspace, "/", path);
}

TEST(TritonConfigTest, FastPitchConfigParsesAndValidatesUnchanged) {
  std::ifstream source(RunfilePath("proto/testdata/fastpitch_triton_config.pbtxt"));
  ASSERT_TRUE(source.good());
  const std::string text((std::istreambuf_iterator<char>(source)),
                         std::istreambuf_iterator<char>());
  const std::string directory = ModelDirectory("FastPitch", text);

  absl::StatusOr<inference::ModelConfig> config = ReadModelConfig(directory);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->name(), "FastPitch");
  EXPECT_EQ(config->max_batch_size(), 8);
  ASSERT_EQ(config->input_size(), 1);
  EXPECT_THAT(config->input(0).dims(), ElementsAre(-1));
  ASSERT_EQ(config->output_size(), 5);
  EXPECT_THAT(config->output(0).dims(), ElementsAre(80, -1));
  EXPECT_TRUE(config->output(1).has_reshape());
  EXPECT_THAT(config->dynamic_batching().preferred_batch_size(), ElementsAre(4, 8));
  EXPECT_EQ(config->dynamic_batching().max_queue_delay_microseconds(), 1u);
  ASSERT_EQ(config->instance_group_size(), 1);
  EXPECT_EQ(config->instance_group(0).count(), 2);

  const inference::ModelConfig read = *config;
  const absl::Status valid = ValidateModelConfig("FastPitch", &*config);
  ASSERT_TRUE(valid.ok()) << valid;
  // Only the defaults are added.
  inference::ModelConfig expected = read;
  expected.set_backend("pytorch");
  expected.set_default_model_filename("model.pt");
  expected.mutable_version_policy()->mutable_latest()->set_num_versions(1);
  EXPECT_TRUE(MessageDifferencer::Equals(*config, expected)) << config->DebugString();
}

}  // namespace
}  // namespace speech
