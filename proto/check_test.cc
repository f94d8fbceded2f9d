#include "proto/check.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace speech {
namespace {

TEST(CheckTest, PassingCheckEvaluatesNoMessage) {
  int evaluated = 0;
  auto message = [&] { return ++evaluated; };
  SPEECH_CHECK(1 + 1 == 2, "never ", message());
  EXPECT_EQ(evaluated, 0);
}

TEST(CheckDeathTest, FailingCheckAbortsWithConditionAndMessage) {
  EXPECT_DEATH(SPEECH_CHECK(2 < 1, "rows ", 3, " of ", 2), "check failed: 2 < 1: rows 3 of 2");
  EXPECT_DEATH(SPEECH_CHECK(false), "check failed: false");
}

TEST(CheckTest, CheckedCastKeepsValuesThatFit) {
  EXPECT_EQ(CheckedCast<int>(int64_t{-5}), -5);
  EXPECT_EQ(CheckedCast<uint32_t>(int64_t{4'000'000'000}), 4'000'000'000u);
  EXPECT_EQ(CheckedCast<int64_t>(uint64_t{1} << 62), int64_t{1} << 62);
}

TEST(CheckDeathTest, CheckedCastAbortsInsteadOfWrapping) {
  EXPECT_DEATH(CheckedCast<uint64_t>(int64_t{-1}), "does not fit");
  EXPECT_DEATH(CheckedCast<int>(int64_t{1} << 40), "does not fit");
  EXPECT_DEATH(CheckedCast<int64_t>(~uint64_t{0}), "does not fit");
}

}  // namespace
}  // namespace speech
