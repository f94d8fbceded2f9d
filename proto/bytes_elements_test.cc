#include "proto/bytes_elements.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(BytesElementsTest, PackAndSplitRoundTrip) {
  const std::vector<std::string> strings = {"hello", "", "wörld"};
  const std::string raw = PackBytesElements(strings);
  EXPECT_EQ(raw.size(), 3 * 4 + 5 + 0 + 6);
  EXPECT_EQ(raw.substr(0, 4), std::string("\x05\x00\x00\x00", 4));
  auto split = SplitBytesElements(raw, "input 'TEXT'");
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_THAT(*split, ElementsAre("hello", "", "wörld"));
  EXPECT_THAT(*SplitBytesElements("", "x"), ElementsAre());
}

TEST(BytesElementsTest, MalformedLayoutsNameTheElement) {
  std::string raw = PackBytesElements(std::vector<std::string>{"ab", "cde"});
  EXPECT_THAT(
      std::string(
          SplitBytesElements(raw.substr(0, raw.size() - 1), "input 'TEXT'").status().message()),
      HasSubstr("input 'TEXT': element 1 declares 3 bytes but only 2 remain"));
  EXPECT_THAT(
      std::string(
          SplitBytesElements(raw + std::string("\x01\x00", 2), "input 'TEXT'").status().message()),
      HasSubstr("element 2 has a length prefix cut short (2 of 4 bytes)"));
}

}  // namespace
}  // namespace speech
