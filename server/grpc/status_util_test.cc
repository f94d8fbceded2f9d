#include "server/grpc/status_util.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(ToGrpcStatusTest, KeepsTheCodeAndTheMessage) {
  const grpc::Status status = ToGrpcStatus(absl::InvalidArgumentError("input 'X': bad"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message(), "input 'X': bad");
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(ToGrpcStatusTest, BoundsAMessageThatEchoesHugeInput) {
  const std::string message =
      absl::StrCat("unexpected input '", std::string(100000, 'n'), "'; model 'm' expects [A, B]");
  const grpc::Status status = ToGrpcStatus(absl::InvalidArgumentError(message));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_LE(status.error_message().size(), kMaxStatusMessageBytes);
  EXPECT_THAT(status.error_message(), StartsWith("unexpected input 'nnn"));
  EXPECT_THAT(status.error_message(), HasSubstr(" bytes left out ...] "));
  EXPECT_THAT(status.error_message(), EndsWith("nnn'; model 'm' expects [A, B]"));
}

TEST(BoundedStatusMessageTest, AMessageAtTheBoundIsKept) {
  const std::string message(kMaxStatusMessageBytes, 'x');
  EXPECT_EQ(BoundedStatusMessage(message), message);
  EXPECT_NE(BoundedStatusMessage(message + "x"), message + "x");
}

TEST(BoundedStatusMessageTest, CountsWhatItLeavesOut) {
  const std::string kept = BoundedStatusMessage(std::string(10000, 'x'));
  const size_t note = kept.find("[... ");
  ASSERT_NE(note, std::string::npos);
  const size_t left_out = std::stoul(kept.substr(note + 5));
  EXPECT_EQ(std::count(kept.begin(), kept.end(), 'x') + left_out, 10000u);
}

// Whether `text` is only '!' and U+00E9 (two bytes each) in whole characters.
bool WholeCharacters(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '!') continue;
    if (text.substr(i, 2) != "\xc3\xa9") return false;
    ++i;
  }
  return true;
}

// The message also travels in stream responses, whose string fields must stay valid UTF-8.
TEST(BoundedStatusMessageTest, CutsOnlyBetweenUtf8Characters) {
  // With a one-byte character at each end, each cut point of either parity is tried by one of
  // the two messages.
  for (const char* end : {"!", "!!"}) {
    std::string message = "!";
    for (int i = 0; i < 5000; ++i) message += "\xc3\xa9";
    message += end;
    const std::string kept = BoundedStatusMessage(message);
    const size_t note = kept.find(" [... ");
    const size_t after = kept.find(" ...] ");
    ASSERT_NE(note, std::string::npos);
    ASSERT_NE(after, std::string::npos);
    EXPECT_TRUE(WholeCharacters(absl::string_view(kept).substr(0, note))) << end;
    EXPECT_TRUE(WholeCharacters(absl::string_view(kept).substr(after + 6))) << end;
  }
}

}  // namespace
}  // namespace speech
