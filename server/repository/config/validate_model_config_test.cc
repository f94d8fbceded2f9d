// ValidateModelConfig: the defaults it fills, what it accepts, and each refusal naming the field,
// the rule and the value given.
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/repository/config/config_test_support.h"
#include "server/repository/config/model_config.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// The smallest configuration ValidateModelConfig accepts for a model directory "m", without the
// fields a test adds.
constexpr char kMinimal[] = R"pb(
  platform: "pytorch_libtorch"
  max_batch_size: 8
  input {
    name: "INPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
  output {
    name: "OUTPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
)pb";

// The same without max_batch_size: a model that does not batch.
constexpr char kUnbatched[] = R"pb(
  platform: "pytorch_libtorch"
  input {
    name: "INPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
  output {
    name: "OUTPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
)pb";

absl::Status Validate(const std::string& extra_text, const std::string& base = kMinimal) {
  inference::ModelConfig config = Parse(base + extra_text);
  return ValidateModelConfig("m", &config);
}

// --- ValidateModelConfig: defaults -------------------------------------------------------------

TEST(ValidateModelConfigTest, FillsDefaults) {
  inference::ModelConfig config = Parse(R"pb(
    backend: "pytorch"
    input {
      name: "INPUT0"
      data_type: TYPE_FP32
      dims: [ 4 ]
    }
    output {
      name: "OUTPUT0"
      data_type: TYPE_FP32
      dims: [ 4 ]
    }
  )pb");
  ASSERT_TRUE(ValidateModelConfig("identity", &config).ok());
  EXPECT_EQ(config.name(), "identity");
  EXPECT_EQ(config.platform(), "pytorch_libtorch");
  EXPECT_EQ(config.backend(), "pytorch");
  EXPECT_EQ(config.default_model_filename(), "model.pt");
  ASSERT_TRUE(config.version_policy().has_latest());
  EXPECT_EQ(config.version_policy().latest().num_versions(), 1u);
}

TEST(ValidateModelConfigTest, PlatformAloneFillsBackend) {
  inference::ModelConfig config = Parse(kMinimal);
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  EXPECT_EQ(config.name(), "m");
  EXPECT_EQ(config.platform(), "pytorch_libtorch");
  EXPECT_EQ(config.backend(), "pytorch");
}

TEST(ValidateModelConfigTest, LatestWithoutCountServesOne) {
  inference::ModelConfig config = Parse(absl::StrCat(kMinimal, "version_policy { latest {} }"));
  ASSERT_TRUE(ValidateModelConfig("m", &config).ok());
  EXPECT_EQ(config.version_policy().latest().num_versions(), 1u);
}

TEST(ValidateModelConfigTest, KeepsGivenFilenameAndPolicy) {
  inference::ModelConfig all = Parse(
      absl::StrCat(kMinimal, "default_model_filename: \"traced.pt\" version_policy { all {} }"));
  ASSERT_TRUE(ValidateModelConfig("m", &all).ok());
  EXPECT_EQ(all.default_model_filename(), "traced.pt");
  EXPECT_TRUE(all.version_policy().has_all());

  inference::ModelConfig latest =
      Parse(absl::StrCat(kMinimal, "version_policy { latest { num_versions: 3 } }"));
  ASSERT_TRUE(ValidateModelConfig("m", &latest).ok());
  EXPECT_EQ(latest.version_policy().latest().num_versions(), 3u);
}

TEST(ValidateModelConfigTest, AcceptsEverySupportedDataType) {
  for (const char* type :
       {"TYPE_BOOL", "TYPE_UINT8", "TYPE_INT8", "TYPE_INT16", "TYPE_INT32", "TYPE_INT64",
        "TYPE_FP16", "TYPE_BF16", "TYPE_FP32", "TYPE_FP64", "TYPE_STRING"}) {
    const std::string text =
        absl::StrCat("platform: \"pytorch_libtorch\" input { name: \"x\" data_type: ", type,
                     " dims: [ 1 ] } output { name: \"y\" data_type: ", type, " dims: [ 1 ] }");
    EXPECT_TRUE(Validate("", text).ok()) << type;
  }
}

TEST(ValidateModelConfigTest, AcceptsVariableDimsAndEmptyDimsWhenBatching) {
  EXPECT_TRUE(Validate("input { name: \"lengths\" data_type: TYPE_INT64 dims: [] }"
                       "input { name: \"text\" data_type: TYPE_INT64 dims: [ -1 ] }"
                       "output { name: \"mel\" data_type: TYPE_FP16 dims: [ 80, -1 ] }")
                  .ok());
}

TEST(ValidateModelConfigTest, AcceptsPreferredSizesAtTheBounds) {
  EXPECT_TRUE(Validate("dynamic_batching { preferred_batch_size: [ 1, 8 ] }").ok());
}

TEST(ValidateModelConfigTest, AcceptsWarmupOfMaxBatchSizeAndAnyWhenNotBatching) {
  EXPECT_TRUE(Validate("model_warmup { name: \"w\" batch_size: 8 }").ok());
  EXPECT_TRUE(Validate("model_warmup { name: \"w\" batch_size: 64 }", kUnbatched).ok());
}

// --- ValidateModelConfig: errors ---------------------------------------------------------------

TEST(ValidateModelConfigTest, NameMustMatchTheDirectory) {
  EXPECT_THAT(Validate("name: \"other\""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("name: must match the model directory 'm'"),
                             HasSubstr("got 'other'"))));
}

TEST(ValidateModelConfigTest, RefusesOtherPlatforms) {
  const std::string tensors =
      "input { name: \"x\" data_type: TYPE_FP32 dims: [ 1 ] }"
      "output { name: \"y\" data_type: TYPE_FP32 dims: [ 1 ] }";
  const auto refused = [](const std::string& platform, const std::string& backend) {
    return StatusIs(
        absl::StatusCode::kInvalidArgument,
        AllOf(HasSubstr("platform/backend: expected platform 'pytorch_libtorch' or "
                        "backend 'pytorch'"),
              HasSubstr(absl::StrCat("got platform '", platform, "', backend '", backend, "'"))));
  };
  EXPECT_THAT(Validate("platform: \"tensorrt_plan\"", tensors), refused("tensorrt_plan", ""));
  EXPECT_THAT(Validate("backend: \"onnxruntime\"", tensors), refused("", "onnxruntime"));
  EXPECT_THAT(Validate("platform: \"pytorch_libtorch\" backend: \"onnxruntime\"", tensors),
              refused("pytorch_libtorch", "onnxruntime"));
  EXPECT_THAT(Validate("", tensors), refused("", ""));
}

TEST(ValidateModelConfigTest, RefusesNegativeMaxBatchSize) {
  EXPECT_THAT(Validate("max_batch_size: -1", kUnbatched),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_batch_size: must be >= 0; got -1")));
}

TEST(ValidateModelConfigTest, RequiresInputsAndOutputs) {
  EXPECT_THAT(Validate("platform: \"pytorch_libtorch\""
                       "output { name: \"y\" data_type: TYPE_FP32 dims: [ 1 ] }",
                       ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input: at least one is required; got none")));
  EXPECT_THAT(Validate("platform: \"pytorch_libtorch\""
                       "input { name: \"x\" data_type: TYPE_FP32 dims: [ 1 ] }",
                       ""),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("output: at least one is required; got none")));
}

TEST(ValidateModelConfigTest, RefusesEmptyTensorNames) {
  EXPECT_THAT(
      Validate("input { data_type: TYPE_FP32 dims: [ 1 ] }"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("input: name must not be empty")));
  EXPECT_THAT(
      Validate("output { name: \"\" data_type: TYPE_FP32 dims: [ 1 ] }"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("output: name must not be empty")));
}

TEST(ValidateModelConfigTest, RefusesANameUsedTwice) {
  EXPECT_THAT(Validate("input { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ 2 ] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 'INPUT0': name is used twice")));
  EXPECT_THAT(Validate("output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 4 ] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("output 'OUTPUT0': name is used twice")));
}

TEST(ValidateModelConfigTest, RefusesUnsupportedDataTypes) {
  const std::string expected_list =
      "expected one of TYPE_BOOL, TYPE_UINT8, TYPE_INT8, TYPE_INT16, TYPE_INT32, TYPE_INT64, "
      "TYPE_FP16, TYPE_BF16, TYPE_FP32, TYPE_FP64, TYPE_STRING";
  EXPECT_THAT(Validate("input { name: \"wide\" data_type: TYPE_UINT32 dims: [ 1 ] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'wide': data_type TYPE_UINT32 is not supported"),
                             HasSubstr(expected_list))));
  EXPECT_THAT(Validate("output { name: \"ids\" data_type: TYPE_UINT16 dims: [ 1 ] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("output 'ids': data_type TYPE_UINT16 is not supported"),
                             HasSubstr(expected_list))));
  // A data_type left out is TYPE_INVALID.
  EXPECT_THAT(Validate("input { name: \"bare\" dims: [ 1 ] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 'bare': data_type TYPE_INVALID is not supported")));
}

TEST(ValidateModelConfigTest, RefusesZeroAndBelowMinusOneDims) {
  EXPECT_THAT(Validate("input { name: \"x\" data_type: TYPE_FP32 dims: [ 2, 0 ] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("input 'x': dims [2, 0] must hold positive sizes or -1 "
                                       "(variable)"),
                             HasSubstr("got 0"))));
  EXPECT_THAT(Validate("output { name: \"y\" data_type: TYPE_FP32 dims: [ -2, 3 ] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("output 'y': dims [-2, 3] must hold positive sizes or -1"),
                             HasSubstr("got -2"))));
}

TEST(ValidateModelConfigTest, RefusesEmptyInputDimsWithoutBatching) {
  EXPECT_THAT(Validate("input { name: \"scalar\" data_type: TYPE_FP32 dims: [] }", kUnbatched),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("input 'scalar': dims must not be empty when max_batch_size is "
                                 "0")));
}

TEST(ValidateModelConfigTest, RefusesSequenceBatchingAndStepsOutsideEnsembles) {
  EXPECT_THAT(Validate("sequence_batching { max_sequence_idle_microseconds: 1000 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("scheduling: sequence_batching is not supported"),
                             HasSubstr("expected dynamic_batching, ensemble_scheduling"))));
  EXPECT_THAT(Validate("ensemble_scheduling { }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("only a model of platform 'ensemble' has steps")));
}

TEST(ValidateModelConfigTest, EnsemblesNeedStepsAndNoBackend) {
  const std::string tensors =
      "input { name: \"x\" data_type: TYPE_FP32 dims: [ 1 ] } "
      "output { name: \"y\" data_type: TYPE_FP32 dims: [ 1 ] } ";
  const std::string step =
      "ensemble_scheduling { step { model_name: \"m\" input_map { key: \"a\" value: \"x\" } "
      "output_map { key: \"b\" value: \"y\" } } } ";
  EXPECT_TRUE(Validate("", "platform: \"ensemble\" " + tensors + step).ok());
  EXPECT_THAT(Validate("", "platform: \"ensemble\" " + tensors),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("an ensemble needs its steps; got none")));
  EXPECT_THAT(Validate("", "platform: \"ensemble\" backend: \"pytorch\" " + tensors + step),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("an ensemble (platform 'ensemble') has no backend")));
}

TEST(ValidateModelConfigTest, DynamicBatchingNeedsMaxBatchSize) {
  EXPECT_THAT(Validate("dynamic_batching {}", kUnbatched),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("dynamic_batching: needs max_batch_size > 0; max_batch_size is "
                                 "0")));
}

TEST(ValidateModelConfigTest, RefusesPreferredSizesOutOfRange) {
  EXPECT_THAT(Validate("dynamic_batching { preferred_batch_size: [ 4, 9 ] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("dynamic_batching.preferred_batch_size: each must be in "
                                       "[1, max_batch_size = 8]"),
                             HasSubstr("got 9"))));
  EXPECT_THAT(Validate("dynamic_batching { preferred_batch_size: [ 0 ] }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("[1, max_batch_size = 8]"), HasSubstr("got 0"))));
}

TEST(ValidateModelConfigTest, RefusesPriorityQueues) {
  const auto refused =
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("dynamic_batching.priority_levels: priority queues are not supported; "
                         "expected 0"));
  EXPECT_THAT(Validate("dynamic_batching { priority_levels: 2 }"), refused);
  EXPECT_THAT(
      Validate("dynamic_batching { priority_queue_policy { key: 1 value { max_queue_size: 4 } } }"),
      refused);
}

TEST(ValidateModelConfigTest, BatchCostModelParameterMustBeTrueOrFalse) {
  EXPECT_TRUE(
      Validate(R"(parameters { key: "batch_cost_model" value { string_value: "false" } })").ok());
  EXPECT_THAT(
      Validate(R"(parameters { key: "batch_cost_model" value { string_value: "off" } })"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("parameters 'batch_cost_model'"), HasSubstr("got \"off\""))));
}

TEST(ValidateModelConfigTest, InlineParameterMustBeTrueOrFalse) {
  EXPECT_TRUE(
      Validate(R"(parameters { key: "execute_inline_when_idle" value { string_value: "false" } })")
          .ok());
  EXPECT_THAT(
      Validate(R"(parameters { key: "execute_inline_when_idle" value { string_value: "True" } })"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("parameters 'execute_inline_when_idle'"),
                     HasSubstr("expected \"true\" or \"false\"; got \"True\""))));
}

TEST(ValidateModelConfigTest, RefusesWarmupLargerThanMaxBatchSize) {
  EXPECT_THAT(Validate("model_warmup { name: \"big\" batch_size: 9 }"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("model_warmup 'big': batch_size must be <= "
                                       "max_batch_size 8"),
                             HasSubstr("got 9"))));
}

}  // namespace
}  // namespace speech
