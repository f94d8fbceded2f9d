// Shared by server/repository's tests: configs, matchers of index rows and served versions,
// requests that record their completions, and a ModelRepository fixture (StatusIs, temporary
// files and Parse: config/config_test_support.h).
#ifndef SPEECH_SERVER_REPOSITORY_REPOSITORY_TEST_SUPPORT_H_
#define SPEECH_SERVER_REPOSITORY_REPOSITORY_TEST_SUPPORT_H_

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "batcher/request.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/model_config.pb.h"
#include "server/repository/config/config_test_support.h"
#include "server/repository/model_repository.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_instance_factory.h"

namespace speech {

// A model the fake runs as an identity: FP32 [rows, 4] in, the same out.
inline std::string Identity(const std::string& extra = "") {
  return absl::StrCat(
      "platform: \"pytorch_libtorch\"\n"
      "max_batch_size: 8\n"
      "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ 4 ] }\n"
      "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ 4 ] }\n",
      extra);
}

// An index entry of a loaded version.
inline auto Ready(const std::string& name, const std::string& version) {
  using ::testing::Field;
  return ::testing::AllOf(Field("name", &ModelState::name, name),
                          Field("version", &ModelState::version, version),
                          Field("state", &ModelState::state, "READY"),
                          Field("reason", &ModelState::reason, ::testing::IsEmpty()));
}

// An index entry of a model that did not load.
template <typename ReasonMatcher>
auto Unavailable(const std::string& name, ReasonMatcher reason) {
  using ::testing::Field;
  return ::testing::AllOf(Field("name", &ModelState::name, name),
                          Field("version", &ModelState::version, ::testing::IsEmpty()),
                          Field("state", &ModelState::state, "UNAVAILABLE"),
                          Field("reason", &ModelState::reason, reason));
}

// A loaded version, by name and version.
inline auto Served(const std::string& name, int64_t version) {
  using ::testing::Field;
  return ::testing::Pointee(::testing::AllOf(
      Field("name", &ServedModel::name, name), Field("version", &ServedModel::version, version),
      Field("version_string", &ServedModel::version_string, absl::StrCat(version))));
}

struct Outcome {
  std::string id;
  absl::Status status;
  bool echoed = false;  // its single output is a copy of its input
  int64_t executed_batch_rows = 0;
};

// Makes requests for Identity models and records their completions. Thread-safe; must outlive
// the batchers its requests go to.
class Completions {
 public:
  // A request of `rows` rows of FP32 [rows, 4], which owns its input bytes.
  std::unique_ptr<InferenceRequest> Make(const std::string& id, int64_t rows = 1) {
    auto request = std::make_unique<InferenceRequest>();
    request->id = id;
    request->batch_rows = rows;
    std::string& bytes = request->owned_data.emplace_back();
    for (int64_t i = 0; i < rows * 4; ++i) {
      const float value = static_cast<float>(i) + 0.5f;
      bytes.append(reinterpret_cast<const char*>(&value), sizeof(value));
    }
    InputTensor input;
    input.name = "INPUT0";
    input.type = inference::TYPE_FP32;
    input.shape = {rows, 4};
    input.data = bytes.data();
    input.byte_size = bytes.size();
    request->inputs.push_back(std::move(input));
    request->on_complete = [this](std::unique_ptr<InferenceRequest> done, absl::Status status) {
      Outcome outcome;
      outcome.id = done->id;
      outcome.status = std::move(status);
      outcome.echoed = done->outputs.size() == 1 && done->outputs[0].name == "OUTPUT0" &&
                       done->outputs[0].data == done->owned_data.front();
      outcome.executed_batch_rows = done->executed_batch_rows;
      absl::MutexLock lock(&mu_);
      outcomes_.push_back(std::move(outcome));
    };
    return request;
  }

  void WaitFor(size_t count) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]()
                      ABSL_SHARED_LOCKS_REQUIRED(mu_) { return outcomes_.size() >= count; };
    mu_.Await(absl::Condition(&enough));
  }

  // In completion order.
  std::vector<Outcome> outcomes() const {
    absl::MutexLock lock(&mu_);
    return outcomes_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Outcome> outcomes_ ABSL_GUARDED_BY(mu_);
};

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
    options.control_mode = control_mode_;
    options.startup_models = startup_models_;
    return ModelRepository::Load(root_, options);
  }

  // Loads the repository, which must succeed as a whole; nullptr (and a failure) otherwise.
  std::unique_ptr<ModelRepository> MustLoad(ModelMetricsFactory* metrics = nullptr) {
    absl::StatusOr<std::unique_ptr<ModelRepository>> repository = Load(metrics);
    EXPECT_TRUE(repository.ok()) << repository.status();
    return repository.ok() ? *std::move(repository) : nullptr;
  }

  // What Load gives the repository; tests of model control set them first.
  ModelControlMode control_mode_ = ModelControlMode::kNone;
  std::vector<std::string> startup_models_;

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
