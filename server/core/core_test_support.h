// Shared by server/core's tests: StatusIs, codec configs and requests, an InferenceCore fixture.
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
#include "server/core/inference_core.h"
#include "server/core/tensor_codec.h"
#include "server/metrics/catalog.h"
#include "server/repository/model_repository.h"
#include "tests/fakes/fake_clock.h"
#include "tests/fakes/fake_instance_factory.h"

namespace speech {

using InputMessage = inference::ModelInferRequest::InferInputTensor;

// A status with `code` whose message matches `message_matcher`.
MATCHER_P2(StatusIs, code, message_matcher, "") {
  if (arg.code() != code) {
    *result_listener << "whose code is " << absl::StatusCodeToString(arg.code());
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher, std::string(arg.message()),
                                       result_listener);
}

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// ---- The codec's configurations and requests ----

inline inference::ModelConfig Config(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

// A model that batches (up to 4 rows), with two inputs and two outputs.
inline inference::ModelConfig BatchingConfig() {
  return Config(R"pb(
    name: "asr"
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
      name: "TEXT"
      data_type: TYPE_FP32
      dims: [ -1 ]
    }
    output {
      name: "TEXT_LENGTH"
      data_type: TYPE_INT32
      dims: [ 1 ]
    }
  )pb");
}

// A model that does not batch, with one input of fixed shape.
inline inference::ModelConfig PlainConfig() {
  return Config(R"pb(
    name: "plain"
    max_batch_size: 0
    input {
      name: "X"
      data_type: TYPE_FP32
      dims: [ 2, 3 ]
    }
    output {
      name: "Y"
      data_type: TYPE_FP32
      dims: [ 2, 3 ]
    }
  )pb");
}

// A model that does not batch, with one input of `type` and variable dims.
inline inference::ModelConfig OneInputConfig(DataType type, const std::string& dims = "[ -1 ]") {
  return Config(absl::StrCat("name: \"one\" max_batch_size: 0 input { name: \"X\" data_type: ",
                             inference::DataType_Name(type), " dims: ", dims,
                             " } output { name: \"Y\" data_type: ", inference::DataType_Name(type),
                             " dims: ", dims, " }"));
}

inline InputMessage* AddInput(inference::ModelInferRequest* message, const std::string& name,
                              const std::string& datatype, std::vector<int64_t> shape) {
  InputMessage* input = message->add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  for (int64_t dim : shape) input->add_shape(dim);
  return input;
}

inline std::string TensorBytes(const InputTensor& tensor) {
  return std::string(tensor.data, tensor.byte_size);
}

// A valid request for BatchingConfig() with `rows` rows of 3 audio samples, in raw contents.
inline inference::ModelInferRequest BatchingRequest(int64_t rows) {
  inference::ModelInferRequest message;
  message.set_model_name("asr");
  AddInput(&message, "AUDIO", "FP32", {rows, 3});
  AddInput(&message, "LENGTH", "INT32", {rows, 1});
  message.add_raw_input_contents(Bytes(std::vector<float>(rows * 3, 0.5f)));
  message.add_raw_input_contents(Bytes(std::vector<int32_t>(rows, 3)));
  return message;
}

// A valid request for PlainConfig(), in typed contents.
inline inference::ModelInferRequest PlainRequest() {
  inference::ModelInferRequest message;
  message.set_model_name("plain");
  InputMessage* x = AddInput(&message, "X", "FP32", {2, 3});
  for (int i = 0; i < 6; ++i) x->mutable_contents()->add_fp32_contents(i);
  return message;
}

inline absl::Status Decode(const inference::ModelInferRequest& message,
                           const inference::ModelConfig& config, InferenceRequest* request) {
  return DecodeInferRequest(message, config, request);
}

inline absl::Status Decode(const inference::ModelInferRequest& message,
                           const inference::ModelConfig& config) {
  InferenceRequest request;
  return DecodeInferRequest(message, config, &request);
}

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
