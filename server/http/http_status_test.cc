// Every absl::StatusCode's HTTP status, and the error body's escaping.
#include "server/http/http_status.h"

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace speech {
namespace {

TEST(HttpStatusFromCodeTest, MapsEveryCode) {
  const std::vector<std::pair<absl::StatusCode, int>> expected = {
      {absl::StatusCode::kOk, 200},
      {absl::StatusCode::kCancelled, 499},
      {absl::StatusCode::kUnknown, 500},
      {absl::StatusCode::kInvalidArgument, 400},
      {absl::StatusCode::kDeadlineExceeded, 504},
      {absl::StatusCode::kNotFound, 404},
      {absl::StatusCode::kAlreadyExists, 409},
      {absl::StatusCode::kPermissionDenied, 403},
      {absl::StatusCode::kResourceExhausted, 429},
      {absl::StatusCode::kFailedPrecondition, 400},
      {absl::StatusCode::kAborted, 409},
      {absl::StatusCode::kOutOfRange, 400},
      {absl::StatusCode::kUnimplemented, 501},
      {absl::StatusCode::kInternal, 500},
      {absl::StatusCode::kUnavailable, 503},
      {absl::StatusCode::kDataLoss, 500},
      {absl::StatusCode::kUnauthenticated, 401},
  };
  for (const auto& [code, http] : expected) {
    EXPECT_EQ(HttpStatusFromCode(code), http) << absl::StatusCodeToString(code);
  }
  // A code absl does not know (a wire value from elsewhere) is a server error, not a crash.
  EXPECT_EQ(HttpStatusFromCode(static_cast<absl::StatusCode>(99)), 500);
}

TEST(HttpStatusFromCodeTest, HttpLevelCodesAreTheStandardOnes) {
  EXPECT_EQ(kHttpOk, 200);
  EXPECT_EQ(kHttpBadRequest, 400);
  EXPECT_EQ(kHttpNotFound, 404);
  EXPECT_EQ(kHttpMethodNotAllowed, 405);
  EXPECT_EQ(kHttpPayloadTooLarge, 413);
}

TEST(ErrorBodyTest, IsTritonsErrorObject) {
  EXPECT_EQ(ErrorBody("model 'x' is not in the repository"),
            R"({"error":"model 'x' is not in the repository"})");
}

TEST(ErrorBodyTest, EscapesQuotesControlCharactersAndBadUtf8) {
  const std::string body = ErrorBody("say \"hi\"\n\x01 \xff!");
  const nlohmann::json parsed = nlohmann::json::parse(body);
  EXPECT_EQ(parsed.at("error").get<std::string>(), "say \"hi\"\n\x01 \xEF\xBF\xBD!");
}

}  // namespace
}  // namespace speech
