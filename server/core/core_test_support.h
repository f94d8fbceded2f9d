// Shared by server/core's tests: an InferenceCore fixture over a temporary repository (and, from
// decode/codec_test_support.h, StatusIs and the codec's configurations and requests).
#ifndef SPEECH_SERVER_CORE_CORE_TEST_SUPPORT_H_
#define SPEECH_SERVER_CORE_CORE_TEST_SUPPORT_H_

#include <google/protobuf/text_format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "batcher/request.h"
#include "batcher/tensor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.pb.h"
#include "proto/model_config.pb.h"
#include "proto/tensor_types.h"
#include "server/core/decode/codec_test_support.h"
#include "server/core/inference_core.h"
#include "server/metrics/catalog.h"
#include "server/repository/model_repository.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_instance_factory.h"

namespace speech {

// ---- A core over a temporary repository ----

// Batches up to 4 rows; versions 1 and 2 are both served.
inline constexpr char kEchoConfig[] = R"pb(
  platform: "pytorch_libtorch"
  max_batch_size: 4
  input {
    name: "AUDIO"
    data_type: TYPE_FP32
    dims: [ -1 ]
  }
  input {
    name: "LENGTH"
    data_type: TYPE_INT32
    dims: [ 1 ]
  }
  output {
    name: "OUT"
    data_type: TYPE_FP32
    dims: [ -1 ]
  }
  output {
    name: "OUT_LENGTH"
    data_type: TYPE_INT32
    dims: [ 1 ]
  }
  version_policy { all {} }
)pb";

// Does not batch.
inline constexpr char kPlainConfig[] = R"pb(
  backend: "pytorch"
  max_batch_size: 0
  input {
    name: "X"
    data_type: TYPE_INT64
    dims: [ 2 ]
  }
  output {
    name: "Y"
    data_type: TYPE_INT64
    dims: [ 2 ]
  }
)pb";

// Each test writes its models under a fresh directory, then loads them on fake instances and a
// fake clock into `repository_` and `core_`.
class InferenceCoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::path(::testing::TempDir()) /
            absl::StrCat("inference_core_test_",
                         ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    std::filesystem::create_directories(root_);
    MetricsCatalog::Options metrics_options;
    metrics_options.gpu_metrics = false;
    absl::StatusOr<std::unique_ptr<MetricsCatalog>> metrics =
        MetricsCatalog::Create(metrics_options);
    ASSERT_TRUE(metrics.ok()) << metrics.status();
    metrics_ = *std::move(metrics);
  }

  void TearDown() override {
    // A failed test may leave executions held; the repository's shutdown would wait for them.
    factory_.Release("echo");
    factory_.Release("plain");
  }

  void AddModel(const std::string& name, const std::string& config,
                const std::vector<int>& versions = {1}) {
    const std::filesystem::path dir = root_ / name;
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "config.pbtxt") << config;
    for (int version : versions) {
      std::filesystem::create_directories(dir / std::to_string(version));
      std::ofstream(dir / std::to_string(version) / "model.pt") << "not a real model";
    }
  }

  // Loads echo (versions 1 and 2) and plain (version 1).
  void LoadStandardRepository(bool with_metrics = true) {
    AddModel("echo", kEchoConfig, {1, 2});
    AddModel("plain", kPlainConfig);
    Load(with_metrics);
  }

  void Load(bool with_metrics = true) {
    ModelRepository::Options options;
    options.instances = &factory_;
    options.clock = &clock_;
    options.metrics = with_metrics ? metrics_.get() : nullptr;
    options.control_mode = control_mode_;
    absl::StatusOr<std::unique_ptr<ModelRepository>> repository =
        ModelRepository::Load(root_.string(), options);
    ASSERT_TRUE(repository.ok()) << repository.status();
    repository_ = *std::move(repository);
    InferenceCore::Options core_options;
    core_options.server_name = "test-server";
    core_options.server_version = "9.8.7";
    core_options.clock = &clock_;
    core_options.limits = limits_;
    core_ = std::make_unique<InferenceCore>(repository_.get(), core_options);
  }

  inference::ModelStatistics Statistics(const std::string& name, const std::string& version) {
    inference::ModelStatisticsRequest request;
    request.set_name(name);
    request.set_version(version);
    inference::ModelStatisticsResponse response;
    const absl::Status status = core_->ModelStatistics(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    EXPECT_EQ(response.model_stats_size(), 1);
    return response.model_stats_size() == 1 ? response.model_stats(0)
                                            : inference::ModelStatistics();
  }

  // The repository's model control mode (set before Load).
  ModelControlMode control_mode_ = ModelControlMode::kNone;
  RequestLimits limits_;  // given to the core by Load

  // Declared in the order they must be built; destroyed in reverse, so that the repository (its
  // batchers and stats) goes before the catalog, the clock and the factory it borrows.
  FakeInstanceFactory factory_;
  FakeClock clock_;
  std::unique_ptr<MetricsCatalog> metrics_;
  std::filesystem::path root_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<InferenceCore> core_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_CORE_TEST_SUPPORT_H_
