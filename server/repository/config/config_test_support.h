// Shared by the tests of model configurations: StatusIs, fresh temporary directories and files,
// and parsing a configuration's text.
#ifndef SPEECH_SERVER_REPOSITORY_CONFIG_CONFIG_TEST_SUPPORT_H_
#define SPEECH_SERVER_REPOSITORY_CONFIG_CONFIG_TEST_SUPPORT_H_

#include <google/protobuf/text_format.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/model_config.pb.h"

namespace speech {

// A status with `code` whose message matches `message_matcher`.
MATCHER_P2(StatusIs, code, message_matcher,
           absl::StrCat("has code ", absl::StatusCodeToString(code), " and a message that ",
                        ::testing::DescribeMatcher<std::string>(message_matcher))) {
  const absl::Status& status = arg;
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

// A fresh, empty directory under the test's temporary directory, named after the running test.
inline std::string FreshDirectory(const std::string& leaf) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string test_name =
      absl::StrReplaceAll(absl::StrCat(test->test_suite_name(), "_", test->name()), {{"/", "_"}});
  const std::filesystem::path directory =
      std::filesystem::path(::testing::TempDir()) / "model_config_test" / test_name / leaf;
  std::filesystem::remove_all(directory);
  std::filesystem::create_directories(directory);
  return directory.string();
}

inline void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
  ASSERT_TRUE(file.good()) << path;
}

inline inference::ModelConfig Parse(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_CONFIG_CONFIG_TEST_SUPPORT_H_
