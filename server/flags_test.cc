// The server's command line: defaults, both value forms, bare booleans, every flag, every error
// (each naming the flag and the value received) and the --help text.
#include "server/flags.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kRepository[] = "--model-repository=/models";

// The message of the error that parsing `args` must fail with (INVALID_ARGUMENT).
std::string ParseError(const std::vector<std::string>& args) {
  absl::StatusOr<ServerFlags> flags = ParseServerFlags(args);
  EXPECT_FALSE(flags.ok()) << "parsed without error";
  if (flags.ok()) return "";
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument) << flags.status();
  return std::string(flags.status().message());
}

TEST(ParseServerFlagsTest, OnlyTheRepositoryGivesEveryDefault) {
  absl::StatusOr<ServerFlags> flags = ParseServerFlags({kRepository});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->model_repository, "/models");
  EXPECT_EQ(flags->grpc_address, "0.0.0.0");
  EXPECT_EQ(flags->grpc_port, 8001);
  EXPECT_TRUE(flags->allow_http);
  EXPECT_EQ(flags->http_address, "0.0.0.0");
  EXPECT_EQ(flags->http_port, 8000);
  EXPECT_EQ(flags->http_thread_count, 256);
  EXPECT_EQ(flags->http_max_body_bytes, 268435456);
  EXPECT_TRUE(flags->allow_metrics);
  EXPECT_EQ(flags->metrics_address, "0.0.0.0");
  EXPECT_EQ(flags->metrics_port, 8002);
  EXPECT_EQ(flags->exit_timeout_secs, 30);
  EXPECT_EQ(flags->drain_period_secs, 0);
  EXPECT_EQ(flags->grpc_max_message_bytes, 268435456);
  EXPECT_EQ(flags->model_control_mode, "none");
  EXPECT_TRUE(flags->load_models.empty());
  EXPECT_EQ(flags->repository_poll_secs, 15);
  EXPECT_EQ(flags->heap_release_interval_ms, 5000);
  EXPECT_EQ(flags->malloc_arena_max, 2);
  EXPECT_EQ(flags->malloc_mmap_threshold_mb, 1024);
  EXPECT_EQ(flags->onednn_primitive_cache, 8192);
  EXPECT_EQ(flags->limits.max_input_elements, 67108864);
  EXPECT_EQ(flags->limits.max_request_elements, 134217728);
  EXPECT_EQ(flags->limits.max_queued_bytes_per_model, 1073741824);
  EXPECT_FALSE(flags->help);
}

TEST(ParseServerFlagsTest, HeapReleaseIntervalMayBeTurnedOff) {
  absl::StatusOr<ServerFlags> flags =
      ParseServerFlags({kRepository, "--heap-release-interval-ms=0"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->heap_release_interval_ms, 0);
}

TEST(ParseServerFlagsTest, ModelControlFlags) {
  absl::StatusOr<ServerFlags> flags =
      ParseServerFlags({kRepository, "--model-control-mode=explicit", "--load-model=tts",
                        "--load-model", "asr", "--repository-poll-secs=2"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->model_control_mode, "explicit");
  EXPECT_EQ(flags->load_models, (std::vector<std::string>{"tts", "asr"}));
  EXPECT_EQ(flags->repository_poll_secs, 2);
  EXPECT_THAT(ParseError({kRepository, "--model-control-mode=sometimes"}),
              AllOf(HasSubstr("flag '--model-control-mode': bad value 'sometimes'"),
                    HasSubstr("'explicit'")));
  EXPECT_THAT(ParseError({kRepository, "--load-model=tts"}),
              HasSubstr("flag '--load-model' needs --model-control-mode=explicit; the mode is "
                        "'none'"));
  EXPECT_THAT(ParseError({kRepository, "--model-control-mode=poll", "--load-model=tts"}),
              HasSubstr("the mode is 'poll'"));
}

TEST(ParseServerFlagsTest, AcceptsEqualsAndSeparateValueForms) {
  absl::StatusOr<ServerFlags> joined =
      ParseServerFlags({"--model-repository=/a", "--grpc-port=9001"});
  ASSERT_TRUE(joined.ok()) << joined.status();
  EXPECT_EQ(joined->model_repository, "/a");
  EXPECT_EQ(joined->grpc_port, 9001);

  absl::StatusOr<ServerFlags> separate =
      ParseServerFlags({"--model-repository", "/b", "--grpc-port", "9002"});
  ASSERT_TRUE(separate.ok()) << separate.status();
  EXPECT_EQ(separate->model_repository, "/b");
  EXPECT_EQ(separate->grpc_port, 9002);
}

TEST(ParseServerFlagsTest, ValueMayContainEqualsSigns) {
  absl::StatusOr<ServerFlags> flags = ParseServerFlags({"--model-repository=/m/a=b"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->model_repository, "/m/a=b");
}

TEST(ParseServerFlagsTest, LaterFlagOverridesEarlierOne) {
  absl::StatusOr<ServerFlags> flags =
      ParseServerFlags({kRepository, "--grpc-port=1", "--grpc-port=2"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->grpc_port, 2);
}

TEST(ParseServerFlagsTest, BareBooleanMeansTrue) {
  absl::StatusOr<ServerFlags> flags =
      ParseServerFlags({kRepository, "--allow-metrics=false", "--allow-metrics"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->allow_metrics);
}

TEST(ParseServerFlagsTest, BooleanTakesTrueFalseOneAndZero) {
  for (const auto& [value, expected] : std::vector<std::pair<std::string, bool>>{
           {"true", true}, {"1", true}, {"false", false}, {"0", false}}) {
    absl::StatusOr<ServerFlags> flags = ParseServerFlags({kRepository, "--allow-metrics=" + value});
    ASSERT_TRUE(flags.ok()) << value << ": " << flags.status();
    EXPECT_EQ(flags->allow_metrics, expected) << value;
  }
}

TEST(ParseServerFlagsTest, BooleanTakesASeparateTrueOrFalseOnly) {
  absl::StatusOr<ServerFlags> flags = ParseServerFlags({kRepository, "--allow-metrics", "false"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_FALSE(flags->allow_metrics);
  // Anything else after a bare boolean is a positional argument, which is refused.
  EXPECT_THAT(ParseError({kRepository, "--allow-metrics", "0"}),
              HasSubstr("unexpected argument '0'"));
}

TEST(ParseServerFlagsTest, ValueFlagDoesNotSwallowTheNextFlag) {
  EXPECT_THAT(ParseError({"--model-repository", "--grpc-port=1"}),
              HasSubstr("flag '--model-repository' needs a value"));
}

TEST(ParseServerFlagsTest, SetsEveryFlag) {
  absl::StatusOr<ServerFlags> flags = ParseServerFlags({
      "--model-repository=/srv/models",
      "--grpc-address=127.0.0.1",
      "--grpc-port=0",
      "--allow-http=false",
      "--http-address=127.0.0.2",
      "--http-port=0",
      "--http-thread-count=4096",
      "--http-max-body-bytes=2048",
      "--allow-metrics=false",
      "--metrics-address=10.0.0.1",
      "--metrics-port=65535",
      "--exit-timeout-secs=86400",
      "--drain-period-secs=3600",
      "--grpc-max-message-bytes=1024",
      "--max-input-elements=10",
      "--max-request-elements=0",
      "--max-queued-bytes-per-model=4096",
      "--help=false",
  });
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->model_repository, "/srv/models");
  EXPECT_EQ(flags->grpc_address, "127.0.0.1");
  EXPECT_EQ(flags->grpc_port, 0);
  EXPECT_FALSE(flags->allow_http);
  EXPECT_EQ(flags->http_address, "127.0.0.2");
  EXPECT_EQ(flags->http_port, 0);
  EXPECT_EQ(flags->http_thread_count, 4096);
  EXPECT_EQ(flags->http_max_body_bytes, 2048);
  EXPECT_FALSE(flags->allow_metrics);
  EXPECT_EQ(flags->metrics_address, "10.0.0.1");
  EXPECT_EQ(flags->metrics_port, 65535);
  EXPECT_EQ(flags->exit_timeout_secs, 86400);
  EXPECT_EQ(flags->drain_period_secs, 3600);
  EXPECT_EQ(flags->grpc_max_message_bytes, 1024);
  EXPECT_EQ(flags->limits.max_input_elements, 10);
  EXPECT_EQ(flags->limits.max_request_elements, 0);
  EXPECT_EQ(flags->limits.max_queued_bytes_per_model, 4096);
  EXPECT_FALSE(flags->help);

  absl::StatusOr<ServerFlags> largest = ParseServerFlags(
      {kRepository, "--grpc-max-message-bytes=2147483647", "--exit-timeout-secs=0"});
  ASSERT_TRUE(largest.ok()) << largest.status();
  EXPECT_EQ(largest->grpc_max_message_bytes, 2147483647);
  EXPECT_EQ(largest->exit_timeout_secs, 0);
}

TEST(ParseServerFlagsTest, TlsFlagsOfBothPorts) {
  absl::StatusOr<ServerFlags> flags =
      ParseServerFlags({kRepository, "--grpc-use-ssl", "--grpc-server-cert=/tls/server.pem",
                        "--grpc-server-key=/tls/server.key", "--grpc-root-cert=/tls/ca.pem",
                        "--grpc-use-ssl-mutual=true", "--metrics-use-ssl",
                        "--metrics-server-cert=/tls/m.pem", "--metrics-server-key=/tls/m.key"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->grpc_tls.enabled);
  EXPECT_EQ(flags->grpc_tls.server_cert, "/tls/server.pem");
  EXPECT_EQ(flags->grpc_tls.server_key, "/tls/server.key");
  EXPECT_EQ(flags->grpc_tls.root_cert, "/tls/ca.pem");
  EXPECT_TRUE(flags->grpc_tls.verify_clients);
  EXPECT_TRUE(flags->metrics_tls.enabled);
  EXPECT_EQ(flags->metrics_tls.server_cert, "/tls/m.pem");
  EXPECT_EQ(flags->metrics_tls.server_key, "/tls/m.key");
  EXPECT_FALSE(flags->metrics_tls.verify_clients);

  absl::StatusOr<ServerFlags> plain = ParseServerFlags({kRepository});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->grpc_tls.enabled);
  EXPECT_FALSE(plain->metrics_tls.enabled);
}

TEST(ParseServerFlagsTest, TlsFlagsThatDisagreeAreNamed) {
  EXPECT_THAT(ParseError({kRepository, "--grpc-use-ssl", "--grpc-server-key=/k"}),
              HasSubstr("'--grpc-use-ssl' needs --grpc-server-cert and --grpc-server-key"));
  EXPECT_THAT(ParseError({kRepository, "--grpc-use-ssl-mutual"}),
              HasSubstr("'--grpc-use-ssl-mutual' needs --grpc-use-ssl"));
  EXPECT_THAT(ParseError({kRepository, "--metrics-use-ssl", "--metrics-server-cert=/c",
                          "--metrics-server-key=/k", "--metrics-use-ssl-mutual"}),
              HasSubstr("'--metrics-use-ssl-mutual' needs --metrics-root-cert"));
}

TEST(ParseServerFlagsTest, HttpBodyLimitFollowsTheGrpcLimitUnlessGiven) {
  absl::StatusOr<ServerFlags> flags =
      ParseServerFlags({kRepository, "--grpc-max-message-bytes=4096"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->http_max_body_bytes, 4096);
  // Given, in either order, it is its own.
  for (const auto& args : std::vector<std::vector<std::string>>{
           {kRepository, "--http-max-body-bytes=8192", "--grpc-max-message-bytes=4096"},
           {kRepository, "--grpc-max-message-bytes=4096", "--http-max-body-bytes=8192"}}) {
    flags = ParseServerFlags(args);
    ASSERT_TRUE(flags.ok()) << flags.status();
    EXPECT_EQ(flags->http_max_body_bytes, 8192);
    EXPECT_EQ(flags->grpc_max_message_bytes, 4096);
  }
}

TEST(ParseServerFlagsTest, HelpNeedsNoRepository) {
  absl::StatusOr<ServerFlags> flags = ParseServerFlags({"--help"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_TRUE(flags->help);
  EXPECT_TRUE(flags->model_repository.empty());
}

TEST(ParseServerFlagsTest, UnknownFlagIsNamed) {
  EXPECT_THAT(ParseError({kRepository, "--grpc-prot=8001"}),
              AllOf(HasSubstr("unknown flag '--grpc-prot'"), HasSubstr("--help")));
  EXPECT_THAT(ParseError({kRepository, "--verbose"}), HasSubstr("unknown flag '--verbose'"));
}

TEST(ParseServerFlagsTest, MissingValueIsNamed) {
  EXPECT_THAT(ParseError({kRepository, "--grpc-port"}),
              HasSubstr("flag '--grpc-port' needs a value"));
  EXPECT_THAT(ParseError({"--model-repository"}),
              HasSubstr("flag '--model-repository' needs a value"));
}

TEST(ParseServerFlagsTest, OutOfRangeOrMalformedNumbersNameFlagAndValue) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"grpc-port", "65536"},
      {"grpc-port", "-1"},
      {"grpc-port", "80x"},
      {"metrics-port", "70000"},
      {"http-port", "65536"},
      {"http-port", "-1"},
      {"http-thread-count", "0"},
      {"http-thread-count", "4097"},
      {"http-max-body-bytes", "1023"},
      {"http-max-body-bytes", "2147483648"},
      {"metrics-port", ""},
      {"exit-timeout-secs", "-1"},
      {"exit-timeout-secs", "86401"},
      {"drain-period-secs", "-1"},
      {"drain-period-secs", "3601"},
      {"repository-poll-secs", "0"},
      {"repository-poll-secs", "soon"},
      {"heap-release-interval-ms", "-5"},
      {"heap-release-interval-ms", "3600001"},
      {"malloc-arena-max", "-1"},
      {"malloc-arena-max", "few"},
      {"malloc-mmap-threshold-mb", "-1"},
      {"malloc-mmap-threshold-mb", "2048"},
      {"onednn-primitive-cache", "-1"},
      {"onednn-primitive-cache", "1048577"},
      {"grpc-max-message-bytes", "1023"},
      {"grpc-max-message-bytes", "2147483648"},
      {"grpc-max-message-bytes", "lots"},
      {"max-input-elements", "-1"},
      {"max-request-elements", "many"},
      {"max-queued-bytes-per-model", "1e9"},
  };
  for (const auto& [flag, value] : bad) {
    EXPECT_THAT(ParseError({kRepository, "--" + flag + "=" + value}),
                HasSubstr("flag '--" + flag + "': bad value '" + value + "'"))
        << flag << "=" << value;
  }
}

TEST(ParseServerFlagsTest, BadValueMessageRepeatsTheFlagsHelp) {
  EXPECT_THAT(ParseError({kRepository, "--grpc-port", "99999"}),
              AllOf(HasSubstr("flag '--grpc-port': bad value '99999'"),
                    HasSubstr("Port of the gRPC service")));
}

TEST(ParseServerFlagsTest, BadBooleanNamesFlagAndValue) {
  EXPECT_THAT(ParseError({kRepository, "--allow-metrics=yes"}),
              HasSubstr("flag '--allow-metrics': bad value 'yes'"));
  EXPECT_THAT(ParseError({kRepository, "--help=maybe"}),
              HasSubstr("flag '--help': bad value 'maybe'"));
}

TEST(ParseServerFlagsTest, EmptyStringValuesAreRefused) {
  for (const std::string flag :
       {"model-repository", "grpc-address", "http-address", "metrics-address", "load-model"}) {
    EXPECT_THAT(ParseError({kRepository, "--" + flag + "="}),
                HasSubstr("flag '--" + flag + "': bad value ''"))
        << flag;
  }
}

TEST(ParseServerFlagsTest, RepositoryIsRequired) {
  EXPECT_THAT(ParseError({}), HasSubstr("flag '--model-repository' is required"));
  EXPECT_THAT(ParseError({"--grpc-port=9000"}), HasSubstr("flag '--model-repository' is required"));
}

TEST(ParseServerFlagsTest, PositionalArgumentIsRefused) {
  EXPECT_THAT(ParseError({kRepository, "/other/models"}),
              AllOf(HasSubstr("unexpected argument '/other/models'"), HasSubstr("--name=value")));
  EXPECT_THAT(ParseError({"-grpc-port=1", kRepository}),
              HasSubstr("unexpected argument '-grpc-port=1'"));
}

TEST(ServerUsageTest, ListsEveryFlagWithItsDefault) {
  const std::string usage = ServerUsage();
  for (const char* flag : {"--model-repository=VALUE",
                           "--grpc-address=VALUE",
                           "--grpc-port=VALUE",
                           "--allow-http[=true|false]",
                           "--http-address=VALUE",
                           "--http-port=VALUE",
                           "--http-thread-count=VALUE",
                           "--http-max-body-bytes=VALUE",
                           "--allow-metrics[=true|false]",
                           "--metrics-address=VALUE",
                           "--metrics-port=VALUE",
                           "--exit-timeout-secs=VALUE",
                           "--drain-period-secs=VALUE",
                           "--grpc-max-message-bytes=VALUE",
                           "--model-control-mode=VALUE",
                           "--load-model=VALUE",
                           "--repository-poll-secs=VALUE",
                           "--max-input-elements=VALUE",
                           "--max-request-elements=VALUE",
                           "--max-queued-bytes-per-model=VALUE",
                           "--grpc-use-ssl[=true|false]",
                           "--grpc-server-cert=VALUE",
                           "--grpc-server-key=VALUE",
                           "--grpc-root-cert=VALUE",
                           "--grpc-use-ssl-mutual[=true|false]",
                           "--metrics-use-ssl[=true|false]",
                           "--metrics-server-cert=VALUE",
                           "--metrics-server-key=VALUE",
                           "--metrics-root-cert=VALUE",
                           "--metrics-use-ssl-mutual[=true|false]",
                           "--help[=true|false]"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
  EXPECT_THAT(usage, HasSubstr("Usage: speech_server --model-repository=PATH"));
  EXPECT_THAT(usage, AllOf(HasSubstr("Default 8000"), HasSubstr("Default 256"),
                           HasSubstr("Default: the value of --grpc-max-message-bytes")));
  EXPECT_THAT(usage, AllOf(HasSubstr("Default 8001"), HasSubstr("Default 8002"),
                           HasSubstr("Default 30"), HasSubstr("Default 268435456"),
                           HasSubstr("Default true"), HasSubstr("Required")));
  EXPECT_THAT(usage, AllOf(HasSubstr("Default none"), HasSubstr("Default 15")));
}

}  // namespace
}  // namespace speech
