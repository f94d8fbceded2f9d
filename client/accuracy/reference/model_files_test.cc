#include "client/accuracy/reference/model_files.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kConfig[] = R"(
  name: "tiny"
  max_batch_size: 4
  input { name: "X" data_type: TYPE_FP32 dims: [ -1 ] }
  output { name: "Y" data_type: TYPE_FP32 dims: [ -1 ] }
)";

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

class ModelFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repository_ = fs::path(::testing::TempDir()) /
                  ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(repository_);
    Write(repository_ / "tiny" / "config.pbtxt", kConfig);
    for (const char* version : {"1", "3", "20"}) {
      Write(repository_ / "tiny" / version / "model.pt", "not really a model");
    }
    fs::create_directories(repository_ / "tiny" / "999x");  // not a version
  }

  std::string repository() const { return repository_.string(); }

  fs::path repository_;
};

TEST_F(ModelFilesTest, TheNewestNumericVersionByDefault) {
  absl::StatusOr<ModelFiles> files = FindModelFiles(repository(), "tiny", "");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->version, "20");
  EXPECT_EQ(files->model_path, (repository_ / "tiny" / "20" / "model.pt").string());
  EXPECT_EQ(files->config_path, (repository_ / "tiny" / "config.pbtxt").string());
  EXPECT_EQ(files->config.max_batch_size(), 4);
  ASSERT_EQ(files->config.output_size(), 1);
  EXPECT_EQ(files->config.output(0).name(), "Y");
}

TEST_F(ModelFilesTest, AnExplicitVersion) {
  absl::StatusOr<ModelFiles> files = FindModelFiles(repository(), "tiny", "3");
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(files->version, "3");
  EXPECT_EQ(files->model_path, (repository_ / "tiny" / "3" / "model.pt").string());
}

TEST_F(ModelFilesTest, WhatIsMissingIsNamed) {
  absl::StatusOr<ModelFiles> files = FindModelFiles(repository() + "/nope", "tiny", "");
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("is not a directory"));
  files = FindModelFiles(repository(), "other", "");
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("model 'other' is not in"));
  files = FindModelFiles(repository(), "tiny", "2");
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("tiny/2/model.pt does not exist"));
  files = FindModelFiles(repository(), "tiny", "v2");
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  fs::create_directories(repository_ / "empty");
  files = FindModelFiles(repository(), "empty", "");
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("no numeric version directory"));
}

TEST_F(ModelFilesTest, ABadConfigIsAParseErrorNamingTheFile) {
  Write(repository_ / "tiny" / "config.pbtxt", "max_batch_size: 4\nbogus_field: 1\n");
  absl::StatusOr<ModelFiles> files = FindModelFiles(repository(), "tiny", "");
  EXPECT_EQ(files.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("config.pbtxt: line 2"));
  EXPECT_THAT(std::string(files.status().message()), HasSubstr("bogus_field"));
}

TEST(ParseModelConfigTextTest, ParsesTheSpeechExtensions) {
  absl::StatusOr<inference::ModelConfig> config = ParseModelConfigText(R"(
    max_batch_size: 8
    input { name: "A" data_type: TYPE_FP32 dims: [ -1 ] ragged_padding { pad_value: 0 } }
    batch_input { kind: BATCH_ELEMENT_COUNT target_name: "L" data_type: TYPE_INT64
                  source_input: "A" }
    output { name: "O" data_type: TYPE_INT64 dims: [ 1 ] reshape { shape: [ ] } }
  )",
                                                                       "test");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->batch_input(0).target_name(0), "L");
  EXPECT_TRUE(config->output(0).has_reshape());
}

}  // namespace
}  // namespace speech
