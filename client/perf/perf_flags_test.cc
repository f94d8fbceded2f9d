#include "client/perf/perf_flags.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<PerfFlags> Parse(std::vector<std::string> args) { return ParsePerfFlags(args); }

TEST(ParseLoadRangeTest, StartEndStep) {
  EXPECT_THAT(*ParseLoadRange("1:16:4", true), ElementsAre(1, 5, 9, 13));
  EXPECT_THAT(*ParseLoadRange("2:4", true), ElementsAre(2, 3, 4));
  EXPECT_THAT(*ParseLoadRange("8", true), ElementsAre(8));
  EXPECT_THAT(*ParseLoadRange("50:100:25", false), ElementsAre(50, 75, 100));
  EXPECT_THAT(*ParseLoadRange("0.5:1.5:0.5", false), ElementsAre(0.5, 1, 1.5));
  for (const char* bad : {"", "0", "4:2", "1:2:0", "1.5", "a:b", "1:2:3:4"}) {
    EXPECT_FALSE(ParseLoadRange(bad, true).ok()) << bad;
  }
}

TEST(ParsePerfFlagsTest, TritonStyleShortAndLongFlags) {
  auto flags = Parse({"-m",
                      "identity",
                      "-u",
                      "h:1",
                      "-b",
                      "8",
                      "-p",
                      "500",
                      "-f",
                      "x.csv",
                      "--concurrency-range=1:4",
                      "--shape",
                      "INPUT0:256",
                      "-r",
                      "3",
                      "-s",
                      "5",
                      "--latency-chart=c.svg",
                      "--percentile=99",
                      "--input-data=zero"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->inputs.model, "identity");
  EXPECT_EQ(flags->url, "h:1");
  EXPECT_EQ(flags->inputs.batch_size, 8);
  EXPECT_EQ(flags->measurement_interval, absl::Milliseconds(500));
  EXPECT_EQ(flags->csv_file, "x.csv");
  EXPECT_EQ(flags->latency_chart_file, "c.svg");
  EXPECT_EQ(flags->mode, LoadMode::kConcurrency);
  EXPECT_THAT(flags->load_levels, ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(flags->inputs.shapes["INPUT0"], ElementsAre(256));
  EXPECT_EQ(flags->max_trials, 3);
  EXPECT_EQ(flags->stability_percentage, 5);
  EXPECT_EQ(*flags->latency_percentile, 99);
  EXPECT_EQ(flags->inputs.fill_mode, FillMode::kZeros);
}

TEST(ParsePerfFlagsTest, Defaults) {
  auto flags = Parse({"-m", "fastpitch"});
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->url, "localhost:8001");
  EXPECT_THAT(flags->load_levels, ElementsAre(1));
  EXPECT_EQ(flags->measurement_interval, absl::Milliseconds(5000));
  EXPECT_EQ(flags->stability_percentage, 10);
  EXPECT_EQ(flags->max_trials, 10);
  EXPECT_FALSE(flags->latency_percentile.has_value());
  EXPECT_EQ(flags->inputs.fill_mode, FillMode::kRandom);
  EXPECT_TRUE(flags->inputs.input_data.empty());
}

TEST(ParsePerfFlagsTest, ProtocolPicksTheDefaultUrl) {
  auto flags = Parse({"-m", "identity"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->protocol, Protocol::kGrpc);
  EXPECT_EQ(flags->url, "localhost:8001");

  flags = Parse({"-m", "identity", "-i", "http"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->protocol, Protocol::kHttp);
  EXPECT_EQ(flags->url, "localhost:8000");
  EXPECT_STREQ(ProtocolName(flags->protocol), "http");

  flags = Parse({"-m", "identity", "-i", "grpc", "-u", "h:9001"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->protocol, Protocol::kGrpc);
  EXPECT_EQ(flags->url, "h:9001");
  EXPECT_STREQ(ProtocolName(flags->protocol), "grpc");

  // Triton's perf_analyzer takes either case; -u wins over the protocol's default.
  flags = Parse({"-m", "identity", "--protocol=HTTP", "-u", "http://h:9000"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->protocol, Protocol::kHttp);
  EXPECT_EQ(flags->url, "http://h:9000");
}

TEST(ParsePerfFlagsTest, AListOfReplicasIsForGrpcOnly) {
  auto flags = Parse({"-m", "identity", "-u", "127.0.0.1:8001,127.0.0.1:8011"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->url, "127.0.0.1:8001,127.0.0.1:8011");

  flags = Parse({"-m", "identity", "-i", "http", "-u", "127.0.0.1:8000,127.0.0.1:8010"});
  EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(flags.status().message(),
            "flag --url (-u) takes one address with -i http; got \"127.0.0.1:8000,127.0.0.1:8010\" "
            "(a list of replicas is for -i grpc)");
}

TEST(ParsePerfFlagsTest, BadProtocolNamesTheFlagAndWhatItTakes) {
  for (const char* bad : {"rest", "", "grpcs"}) {
    auto flags = Parse({"-m", "identity", "-i", bad});
    ASSERT_FALSE(flags.ok()) << bad;
    EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(flags.status().message(),
              absl::StrCat("flag --protocol (-i) must be grpc or http; got \"", bad, "\""));
  }
  EXPECT_THAT(Parse({"-m", "identity", "-i"}).status().message(), HasSubstr("-i needs a value"));
}

TEST(ParsePerfFlagsTest, RequestRateModeAndData) {
  auto flags =
      Parse({"-m", "m", "--request-rate-range=100:300:100", "--request-distribution=poisson",
             "--input-data=/data/wavs", "--length-range=10:50", "--measurement-interval=250"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->mode, LoadMode::kRequestRate);
  EXPECT_THAT(flags->load_levels, ElementsAre(100, 200, 300));
  EXPECT_EQ(flags->distribution, RequestDistribution::kPoisson);
  EXPECT_EQ(flags->inputs.input_data, "/data/wavs");
  EXPECT_EQ(flags->inputs.length_range->min, 10);
  EXPECT_EQ(flags->inputs.length_range->max, 50);
  EXPECT_EQ(flags->measurement_interval, absl::Milliseconds(250));
}

TEST(ParsePerfFlagsTest, LengthRangeOfAnySize) {
  auto flags = Parse({"-m", "wav2vec2", "--length-range=16000:560000"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->inputs.length_range->min, 16000);
  EXPECT_EQ(flags->inputs.length_range->max, 560000);
  for (const char* bad : {"5", "0:10", "10:5", "1:2:3", "a:b"}) {
    auto parsed = Parse({"-m", "x", absl::StrCat("--length-range=", bad)});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_THAT(parsed.status().message(), HasSubstr("--length-range"));
    EXPECT_THAT(parsed.status().message(), HasSubstr(absl::StrCat("got \"", bad, "\"")));
  }
}

TEST(ParsePerfFlagsTest, RecordedInputDataAndSampleRate) {
  auto flags = Parse({"-m", "fastpitch", "--input-data=ids.json"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->inputs.input_data, "ids.json");
  EXPECT_EQ(flags->inputs.sample_rate_hz, 16000);
  flags = Parse({"-m", "wav2vec2", "--input-data", "/data/wavs", "--sample-rate=8000"});
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->inputs.input_data, "/data/wavs");
  EXPECT_EQ(flags->inputs.sample_rate_hz, 8000);
  EXPECT_THAT(Parse({"-m", "x", "--sample-rate=0"}).status().message(),
              HasSubstr("--sample-rate"));
  EXPECT_FALSE(Parse({"-m", "x", "--sample-rate=fast"}).ok());
  EXPECT_THAT(Parse({"-m", "x", "--input-data="}).status().message(), HasSubstr("--input-data"));
}

TEST(ParsePerfFlagsTest, PlainErrors) {
  EXPECT_THAT(Parse({}).status().message(), HasSubstr("-m MODEL is required"));
  EXPECT_THAT(
      Parse({"-m", "x", "--concurrency-range=1", "--request-rate-range=1"}).status().message(),
      HasSubstr("not both"));
  EXPECT_THAT(Parse({"-m", "x", "--concurrency-range=0:2"}).status().message(),
              HasSubstr("--concurrency-range"));
  EXPECT_FALSE(Parse({"-m", "x", "--max-trials=2"}).ok());
  EXPECT_FALSE(Parse({"-m", "x", "-b", "0"}).ok());
  EXPECT_FALSE(Parse({"-m", "x", "--percentile=100"}).ok());
  EXPECT_FALSE(Parse({"-m", "x", "--request-distribution=uniform"}).ok());
  EXPECT_FALSE(Parse({"-m", "x", "--length-range=5"}).ok());
  EXPECT_FALSE(Parse({"-m", "x", "--bogus"}).ok());
  EXPECT_FALSE(Parse({"-m"}).ok());
  EXPECT_TRUE(Parse({"--help"})->help);
}

TEST(PerfUsageTest, DocumentsEveryFlag) {
  const std::string usage = PerfUsage();
  for (const char* flag : {"--model",
                           "--model-version",
                           "--url",
                           "--protocol",
                           "--batch-size",
                           "--concurrency-range",
                           "--request-rate-range",
                           "--request-distribution",
                           "--measurement-interval-ms",
                           "--stability-percentage",
                           "--max-trials",
                           "--percentile",
                           "--csv-file",
                           "--latency-chart",
                           "--input-data",
                           "--shape",
                           "--length",
                           "--length-range",
                           "--sample-count",
                           "--seed",
                           "--sample-rate",
                           "--request-timeout-ms",
                           "--connect-timeout-ms",
                           "--help"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace speech
