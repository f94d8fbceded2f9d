#include "client/accuracy/accuracy_flags.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<AccuracyFlags> Parse(const std::string& line) {
  const std::vector<std::string> args = absl::StrSplit(line, ' ', absl::SkipEmpty());
  return ParseAccuracyFlags(args);
}

TEST(AccuracyFlagsTest, Defaults) {
  absl::StatusOr<AccuracyFlags> flags = Parse("-m wav2vec2 --model-repository=/repo");
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->inputs.model, "wav2vec2");
  EXPECT_EQ(flags->model_repository, "/repo");
  EXPECT_EQ(flags->inputs.version, "");
  EXPECT_EQ(flags->url, "localhost:8001");
  EXPECT_EQ(flags->device, "cpu");
  EXPECT_EQ(flags->run.concurrency, 16);
  EXPECT_EQ(flags->run.repeat, 1);
  EXPECT_DOUBLE_EQ(flags->thresholds.max_rel_error, 1e-4);
  EXPECT_FALSE(flags->thresholds.max_abs_error.has_value());
  EXPECT_EQ(flags->csv_file, "accuracy_metrics.csv");
  EXPECT_EQ(flags->inputs.sample_count, 16);
  EXPECT_EQ(flags->inputs.fill_mode, FillMode::kRandom);
  EXPECT_EQ(flags->inputs.input_data, "");
  EXPECT_EQ(flags->inputs.int_low, 1);
  EXPECT_EQ(flags->inputs.int_high, 100);
  EXPECT_EQ(flags->request_timeout, absl::Seconds(30));
}

TEST(AccuracyFlagsTest, EveryFlag) {
  absl::StatusOr<AccuracyFlags> flags = Parse(
      "-u host:9 -m fastpitch -x 2 --model-repository /r --device=cuda:0 --concurrency=8 "
      "--repeat=4 --length-range=8:96 --sample-count=32 --seed=7 --int-range=1,148 "
      "--shape=INPUT__0:-1 --length=10 --sample-rate=22050 --max-rel-error=0 "
      "--max-abs-error=1e-3 --csv=out.csv --request-timeout-ms=500 --connect-timeout-ms=200");
  ASSERT_TRUE(flags.ok()) << flags.status();
  EXPECT_EQ(flags->url, "host:9");
  EXPECT_EQ(flags->inputs.version, "2");
  EXPECT_EQ(flags->device, "cuda:0");
  EXPECT_EQ(flags->run.concurrency, 8);
  EXPECT_EQ(flags->run.repeat, 4);
  ASSERT_TRUE(flags->inputs.length_range.has_value());
  EXPECT_EQ(flags->inputs.length_range->min, 8);
  EXPECT_EQ(flags->inputs.length_range->max, 96);
  EXPECT_EQ(flags->inputs.sample_count, 32);
  EXPECT_EQ(flags->inputs.seed, 7u);
  EXPECT_EQ(flags->inputs.int_low, 1);
  EXPECT_EQ(flags->inputs.int_high, 148);
  EXPECT_EQ(flags->inputs.shapes.at("INPUT__0"), std::vector<int64_t>{-1});
  EXPECT_EQ(flags->inputs.length, 10);
  EXPECT_EQ(flags->inputs.sample_rate_hz, 22050);
  EXPECT_EQ(flags->thresholds.max_rel_error, 0);
  EXPECT_EQ(flags->thresholds.max_abs_error, 1e-3);
  EXPECT_EQ(flags->csv_file, "out.csv");
  EXPECT_EQ(flags->request_timeout, absl::Milliseconds(500));
  EXPECT_EQ(flags->connect_timeout, absl::Milliseconds(200));
}

TEST(AccuracyFlagsTest, InputData) {
  absl::StatusOr<AccuracyFlags> flags = Parse("-m a --model-repository=/r --input-data=zero");
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->inputs.fill_mode, FillMode::kZeros);
  flags = Parse("-m a --model-repository=/r --input-data=/data/wavs");
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->inputs.input_data, "/data/wavs");
}

TEST(AccuracyFlagsTest, HelpNeedsNothingElse) {
  absl::StatusOr<AccuracyFlags> flags = Parse("--help");
  ASSERT_TRUE(flags.ok());
  EXPECT_TRUE(flags->help);
  EXPECT_TRUE(Parse("-h")->help);
}

TEST(AccuracyFlagsTest, UsageErrorsNameTheFlag) {
  const std::pair<const char*, const char*> cases[] = {
      {"--model-repository=/r", "-m MODEL is required"},
      {"-m a", "--model-repository=DIR is required"},
      {"-m a --model-repository=/r --concurrency=0", "--concurrency must be in [1, 1024]"},
      {"-m a --model-repository=/r --repeat=x", "--repeat"},
      {"-m a --model-repository=/r --max-rel-error=-1", "--max-rel-error needs a finite"},
      {"-m a --model-repository=/r --max-abs-error=abc", "--max-abs-error needs a finite"},
      {"-m a --model-repository=/r --length-range=9:2", "--length-range"},
      {"-m a --model-repository=/r --int-range=5,5", "--int-range"},
      {"-m a --model-repository=/r --shape=X", "--shape"},
      {"-m a --model-repository=/r --csv=", "--csv needs a file name"},
      {"-m a --model-repository=/r --bogus=1", "bogus"},
      {"-m a --model-repository=/r extra", "unexpected argument \"extra\""},
      {"-m", "flag -m needs a value"},
  };
  for (const auto& [line, message] : cases) {
    absl::StatusOr<AccuracyFlags> flags = Parse(line);
    EXPECT_EQ(flags.status().code(), absl::StatusCode::kInvalidArgument) << line;
    EXPECT_THAT(std::string(flags.status().message()), HasSubstr(message)) << line;
  }
}

TEST(AccuracyFlagsTest, UsageDocumentsTheErrorDefinitionAndEveryFlag) {
  const std::string usage = AccuracyUsage();
  EXPECT_THAT(usage, HasSubstr(kRelativeErrorDefinition));
  for (const char* flag : {"--url",
                           "--model",
                           "--model-repository",
                           "--model-version",
                           "--device",
                           "--concurrency",
                           "--repeat",
                           "--input-data",
                           "--sample-rate",
                           "--shape",
                           "--length",
                           "--length-range",
                           "--sample-count",
                           "--seed",
                           "--int-range",
                           "--max-rel-error",
                           "--max-abs-error",
                           "--csv",
                           "--request-timeout-ms",
                           "--connect-timeout-ms",
                           "--help",
                           "Exit status"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
}

}  // namespace
}  // namespace speech
