#include "models/torch/execution/execution_settings.h"

#include <google/protobuf/text_format.h>
#include <sched.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

// A configuration with the given `parameters` (key, value) pairs.
inference::ModelConfig WithParameters(
    std::initializer_list<std::pair<std::string, std::string>> parameters) {
  inference::ModelConfig config;
  EXPECT_TRUE(
      google::protobuf::TextFormat::ParseFromString("name: \"m\" max_batch_size: 8", &config));
  for (const auto& [key, value] : parameters) {
    (*config.mutable_parameters())[key].set_string_value(value);
  }
  return config;
}

TEST(ExecutionSettingsTest, DefaultsShareTheCoresButOneAmongInstances) {
  absl::StatusOr<ExecutionSettings> settings =
      ExecutionSettingsFromConfig(WithParameters({}), /*instances=*/2, /*usable_cores=*/9);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_EQ(settings->intra_op_threads, 4);
  EXPECT_EQ(settings->inter_op_threads, 0);
  EXPECT_TRUE(settings->inference_mode);
  EXPECT_TRUE(settings->optimized_execution);
  EXPECT_FALSE(settings->jit_profiling.has_value());
  EXPECT_FALSE(settings->jit_executor.has_value());
  EXPECT_FALSE(settings->reject_nan_outputs);
  EXPECT_EQ(settings->execution_timeout, absl::ZeroDuration());
}

TEST(ExecutionSettingsTest, MoreInstancesThanCoresGetOneThreadEach) {
  EXPECT_EQ(ExecutionSettingsFromConfig(WithParameters({}), 1, 2)->intra_op_threads, 1);
  EXPECT_EQ(ExecutionSettingsFromConfig(WithParameters({}), 3, 2)->intra_op_threads, 1);
  EXPECT_EQ(ExecutionSettingsFromConfig(WithParameters({}), 3, 8)->intra_op_threads, 2);
  EXPECT_EQ(ExecutionSettingsFromConfig(WithParameters({}), 1, 16)->intra_op_threads, 15);
  EXPECT_EQ(ExecutionSettingsFromConfig(WithParameters({}), 0, 0)->intra_op_threads, 1);
}

TEST(ExecutionSettingsTest, ReadsEveryParameter) {
  absl::StatusOr<ExecutionSettings> settings =
      ExecutionSettingsFromConfig(WithParameters({{"INFERENCE_MODE", "false"},
                                                  {"DISABLE_OPTIMIZED_EXECUTION", "true"},
                                                  {"ENABLE_JIT_PROFILING", "false"},
                                                  {"ENABLE_JIT_EXECUTOR", "true"},
                                                  {"INTRA_OP_THREAD_COUNT", "3"},
                                                  {"INTER_OP_THREAD_COUNT", "2"},
                                                  {"REJECT_NAN_OUTPUTS", "true"},
                                                  {"EXECUTION_TIMEOUT_MS", "2500"}}),
                                  2, 2);
  ASSERT_TRUE(settings.ok()) << settings.status();
  EXPECT_FALSE(settings->inference_mode);
  EXPECT_FALSE(settings->optimized_execution);
  EXPECT_THAT(settings->jit_profiling, Optional(false));
  EXPECT_THAT(settings->jit_executor, Optional(true));
  EXPECT_EQ(settings->intra_op_threads, 3);  // a configured count is kept, even past the cores
  EXPECT_EQ(settings->inter_op_threads, 2);
  EXPECT_TRUE(settings->reject_nan_outputs);
  EXPECT_EQ(settings->execution_timeout, absl::Milliseconds(2500));
  EXPECT_EQ(DescribeExecutionSettings(*settings),
            "intra-op threads 3, inter-op threads 2, no-grad mode, optimized execution disabled, "
            "JIT profiling off, JIT executor on, NaN outputs rejected, execution timeout 2500 ms");
}

TEST(ExecutionSettingsTest, ZeroThreadsMeansTheDefault) {
  EXPECT_EQ(ExecutionSettingsFromConfig(WithParameters({{"INTRA_OP_THREAD_COUNT", "0"}}), 1, 4)
                ->intra_op_threads,
            3);
}

TEST(ExecutionSettingsTest, BadValuesNameTheParameterAndTheValue) {
  struct Case {
    const char* key;
    const char* value;
    const char* expected;
  };
  for (const Case& c :
       {Case{"INFERENCE_MODE", "yes", "expected \"true\" or \"false\"; got \"yes\""},
        Case{"DISABLE_OPTIMIZED_EXECUTION", "1", "got \"1\""},
        Case{"ENABLE_JIT_PROFILING", "", "got \"\""},
        Case{"ENABLE_JIT_EXECUTOR", "True", "got \"True\""},
        Case{"INTRA_OP_THREAD_COUNT", "-1", "from 0 (the default) to 1024"},
        Case{"INTRA_OP_THREAD_COUNT", "two", "got \"two\""},
        Case{"INTER_OP_THREAD_COUNT", "5000", "got \"5000\""},
        Case{"EXECUTION_TIMEOUT_MS", "-5", "milliseconds from 0 (no limit) to 3600000; got \"-5\""},
        Case{"EXECUTION_TIMEOUT_MS", "1.5s", "got \"1.5s\""},
        Case{"EXECUTION_TIMEOUT_MS", "3600001", "got \"3600001\""}}) {
    absl::StatusOr<ExecutionSettings> settings =
        ExecutionSettingsFromConfig(WithParameters({{c.key, c.value}}), 1, 2);
    ASSERT_FALSE(settings.ok()) << c.key << "=" << c.value;
    EXPECT_EQ(settings.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(settings.status().message(), HasSubstr(absl::StrCat("parameters '", c.key, "'")));
    EXPECT_THAT(settings.status().message(), HasSubstr(c.expected));
  }
}

TEST(ExecutionSettingsTest, UsableCoresIsWithinTheMachine) {
  const int cores = UsableCores();
  EXPECT_GE(cores, 1);
  EXPECT_LE(cores, CPU_SETSIZE);
}

}  // namespace
}  // namespace speech
