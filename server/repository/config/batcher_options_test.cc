#include "server/repository/config/batcher_options.h"

#include <google/protobuf/text_format.h>

#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using Options = DynamicBatcher::Options;
using TimeoutAction = DynamicBatcher::TimeoutAction;

inference::ModelConfig Parse(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

// A configuration of model "tts" batching up to 8 rows, with `extra` fields.
Options FromConfig(const std::string& extra) {
  return BatcherOptionsFromConfig(Parse("name: \"tts\" max_batch_size: 8 " + extra));
}

TEST(BatcherOptionsTest, MapsNameAndMaxBatchSize) {
  const Options options = BatcherOptionsFromConfig(Parse("name: \"fastpitch\" max_batch_size: 16"));
  EXPECT_EQ(options.model_name, "fastpitch");
  EXPECT_EQ(options.max_batch_size, 16);
}

TEST(BatcherOptionsTest, WithoutDynamicBatchingEveryRequestRunsAlone) {
  const Options options = FromConfig("");
  const Options defaults;
  EXPECT_FALSE(options.dynamic_batching);
  EXPECT_THAT(options.preferred_batch_sizes, IsEmpty());
  EXPECT_EQ(options.max_queue_delay, defaults.max_queue_delay);
  EXPECT_EQ(options.preserve_ordering, defaults.preserve_ordering);
  EXPECT_EQ(options.max_queue_size, defaults.max_queue_size);
  EXPECT_EQ(options.default_timeout, defaults.default_timeout);
  EXPECT_EQ(options.allow_timeout_override, defaults.allow_timeout_override);
  EXPECT_EQ(options.timeout_action, defaults.timeout_action);
  EXPECT_FALSE(options.run_inline_when_idle);
}

TEST(BatcherOptionsTest, EmptyDynamicBatchingTurnsBatchingOnWithDefaults) {
  const Options options = FromConfig("dynamic_batching {}");
  EXPECT_TRUE(options.dynamic_batching);
  EXPECT_THAT(options.preferred_batch_sizes, IsEmpty());
  EXPECT_EQ(options.max_queue_delay, absl::ZeroDuration());
  EXPECT_FALSE(options.preserve_ordering);
  EXPECT_EQ(options.max_queue_size, 0);
  EXPECT_EQ(options.default_timeout, absl::ZeroDuration());
  EXPECT_FALSE(options.allow_timeout_override);
  EXPECT_EQ(options.timeout_action, TimeoutAction::kReject);
}

TEST(BatcherOptionsTest, MapsEveryDynamicBatchingField) {
  const Options options = FromConfig(R"pb(
    dynamic_batching {
      preferred_batch_size: [ 4, 8 ]
      max_queue_delay_microseconds: 250
      preserve_ordering: true
      default_queue_policy {
        max_queue_size: 32
        default_timeout_microseconds: 5000
        allow_timeout_override: true
        timeout_action: DELAY
      }
    }
  )pb");
  EXPECT_EQ(options.model_name, "tts");
  EXPECT_EQ(options.max_batch_size, 8);
  EXPECT_TRUE(options.dynamic_batching);
  EXPECT_THAT(options.preferred_batch_sizes, ElementsAre(4, 8));
  EXPECT_EQ(options.max_queue_delay, absl::Microseconds(250));
  EXPECT_TRUE(options.preserve_ordering);
  EXPECT_EQ(options.max_queue_size, 32);
  EXPECT_EQ(options.default_timeout, absl::Microseconds(5000));
  EXPECT_TRUE(options.allow_timeout_override);
  EXPECT_EQ(options.timeout_action, TimeoutAction::kDelay);
}

TEST(BatcherOptionsTest, PreserveOrderingMapsBothWays) {
  EXPECT_TRUE(FromConfig("dynamic_batching { preserve_ordering: true }").preserve_ordering);
  EXPECT_FALSE(FromConfig("dynamic_batching { preserve_ordering: false }").preserve_ordering);
}

TEST(BatcherOptionsTest, MaxQueueSizeMaps) {
  EXPECT_EQ(
      FromConfig("dynamic_batching { default_queue_policy { max_queue_size: 1 } }").max_queue_size,
      1);
  EXPECT_EQ(FromConfig("dynamic_batching { default_queue_policy { max_queue_size: 4096 } }")
                .max_queue_size,
            4096);
}

TEST(BatcherOptionsTest, AllowTimeoutOverrideMapsBothWays) {
  EXPECT_TRUE(
      FromConfig("dynamic_batching { default_queue_policy { allow_timeout_override: true } }")
          .allow_timeout_override);
  EXPECT_FALSE(
      FromConfig("dynamic_batching { default_queue_policy { allow_timeout_override: false } }")
          .allow_timeout_override);
}

TEST(BatcherOptionsTest, TimeoutActionRejectMapsToReject) {
  EXPECT_EQ(FromConfig("dynamic_batching { default_queue_policy { timeout_action: REJECT } }")
                .timeout_action,
            TimeoutAction::kReject);
}

TEST(BatcherOptionsTest, TimeoutActionDelayMapsToDelay) {
  EXPECT_EQ(FromConfig("dynamic_batching { default_queue_policy { timeout_action: DELAY } }")
                .timeout_action,
            TimeoutAction::kDelay);
}

TEST(BatcherOptionsTest, InlineWhenIdleParameterTrue) {
  const Options options = FromConfig(R"pb(
    dynamic_batching {}
    parameters {
      key: "execute_inline_when_idle"
      value { string_value: "true" }
    }
  )pb");
  EXPECT_TRUE(options.run_inline_when_idle);
}

TEST(BatcherOptionsTest, InlineWhenIdleParameterFalse) {
  const Options options = FromConfig(R"pb(
    dynamic_batching {}
    parameters {
      key: "execute_inline_when_idle"
      value { string_value: "false" }
    }
  )pb");
  EXPECT_FALSE(options.run_inline_when_idle);
}

TEST(BatcherOptionsTest, InlineWhenIdleAbsentIsFalse) {
  const Options options = FromConfig(R"pb(
    dynamic_batching {}
    parameters {
      key: "some_other_parameter"
      value { string_value: "true" }
    }
  )pb");
  EXPECT_FALSE(options.run_inline_when_idle);
}

TEST(BatcherOptionsTest, InlineWhenIdleAppliesWithoutDynamicBatching) {
  const Options options = FromConfig(R"pb(
    parameters {
      key: "execute_inline_when_idle"
      value { string_value: "true" }
    }
  )pb");
  EXPECT_FALSE(options.dynamic_batching);
  EXPECT_TRUE(options.run_inline_when_idle);
}

}  // namespace
}  // namespace speech
