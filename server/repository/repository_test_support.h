// Shared by server/repository's tests: StatusIs, temp files, configs and a ModelRepository fixture.
#ifndef SPEECH_SERVER_REPOSITORY_REPOSITORY_TEST_SUPPORT_H_
#define SPEECH_SERVER_REPOSITORY_REPOSITORY_TEST_SUPPORT_H_

#include <google/protobuf/text_format.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/model_config.pb.h"
#include "server/repository/model_repository.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_instance_factory.h"

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

// A model the fake runs as an identity: FP32 [rows, 4] in, the same out.
inline std::string Identity(const std::string& extra = "") {
  return absl::StrCat(
      "platform: \"pytorch_libtorch\"\n"
      "max_batch_size: 8\n"
      "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 4 ] }\n"
      "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 4 ] }\n",
      extra);
}

// Each test writes its models under a fresh `root_` and loads them on `factory_` and `clock_`.
class ModelRepositoryTest : public ::testing::Test {
 protected:
  ModelRepositoryTest() : root_(FreshRoot()) {}

  // Adds model directory `name` with `config_text` as its config.pbtxt and, for each of
  // `versions`, a `<version>/<model_file>` holding a few bytes.
  void AddModel(const std::string& name, const std::string& config_text,
                const std::vector<int>& versions = {1},
                const std::string& model_file = "model.pt") {
    const std::filesystem::path directory = std::filesystem::path(root_) / name;
    std::filesystem::create_directories(directory);
    WriteFile(directory / "config.pbtxt", config_text);
    for (int version : versions) {
      std::filesystem::create_directories(directory / std::to_string(version));
      WriteFile(directory / std::to_string(version) / model_file, "not really TorchScript");
    }
  }

  // What FakeInstanceFactory::created() lists for an instance of `name` at `version` on `device`.
  std::string Placement(const std::string& name, int version, const std::string& device = "cpu",
                        const std::string& model_file = "model.pt") const {
    return absl::StrCat(root_, "/", name, "/", version, "/", model_file, "@", device);
  }

  absl::StatusOr<std::unique_ptr<ModelRepository>> Load(ModelMetricsFactory* metrics = nullptr) {
    ModelRepository::Options options;
    options.instances = &factory_;
    options.clock = &clock_;
    options.metrics = metrics;
    return ModelRepository::Load(root_, options);
  }

  // Loads the repository, which must succeed as a whole; nullptr (and a failure) otherwise.
  std::unique_ptr<ModelRepository> MustLoad(ModelMetricsFactory* metrics = nullptr) {
    absl::StatusOr<std::unique_ptr<ModelRepository>> repository = Load(metrics);
    EXPECT_TRUE(repository.ok()) << repository.status();
    return repository.ok() ? *std::move(repository) : nullptr;
  }

  // Outlive every repository a test loads (declared before it in the test body).
  FakeClock clock_;
  FakeInstanceFactory factory_;
  const std::string root_;

 private:
  static std::string FreshRoot() {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    const std::filesystem::path root = std::filesystem::path(::testing::TempDir()) /
                                       "model_repository_test" /
                                       absl::StrReplaceAll(test->name(), {{"/", "_"}}) / "models";
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root);
    return root.string();
  }
};

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_REPOSITORY_TEST_SUPPORT_H_
