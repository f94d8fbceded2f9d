#include "client/perf/inputs/length_range.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

TEST(ParseLengthRangeTest, AcceptsRangesOfAnySize) {
  absl::StatusOr<LengthRange> range = ParseLengthRange("16000:560000");
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->min, 16000);
  EXPECT_EQ(range->max, 560000);
  range = ParseLengthRange("7:7");
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->min, 7);
  EXPECT_EQ(range->max, 7);
  range = ParseLengthRange("1:9000000000");
  ASSERT_TRUE(range.ok()) << range.status();
  EXPECT_EQ(range->max, 9000000000);
}

TEST(ParseLengthRangeTest, ErrorsNameTheFlagAndWhatWasReceived) {
  const struct {
    const char* text;
    const char* why;
  } cases[] = {
      {"", "exactly one ':'"},          {"5", "exactly one ':'"},
      {"1:2:3", "exactly one ':'"},     {"a:b", "not whole numbers"},
      {"1.5:3", "not whole numbers"},   {"0:10", "MIN is not positive"},
      {"-4:10", "MIN is not positive"}, {"10:9", "MAX is below MIN"},
  };
  for (const auto& c : cases) {
    absl::StatusOr<LengthRange> range = ParseLengthRange(c.text);
    ASSERT_FALSE(range.ok()) << c.text;
    EXPECT_EQ(range.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(range.status().message(), HasSubstr("--length-range"));
    EXPECT_THAT(range.status().message(), HasSubstr(absl::StrCat("got \"", c.text, "\"")));
    EXPECT_THAT(range.status().message(), HasSubstr(c.why)) << c.text;
  }
}

TEST(LengthRangeTest, DrawsUniformlyWithinBoundsAndRepeatsForASeed) {
  const LengthRange range{16000, 560000};
  std::mt19937_64 engine(7), again(7);
  std::set<int64_t> seen;
  int64_t low_half = 0;
  for (int i = 0; i < 2000; ++i) {
    const int64_t length = range.Draw(engine);
    ASSERT_GE(length, 16000);
    ASSERT_LE(length, 560000);
    EXPECT_EQ(length, range.Draw(again));
    seen.insert(length);
    low_half += length < (16000 + 560000) / 2;
  }
  EXPECT_GT(seen.size(), 1900u);
  EXPECT_NEAR(low_half, 1000, 150);
  EXPECT_EQ((LengthRange{5, 5}).Draw(engine), 5);
}

}  // namespace
}  // namespace speech
