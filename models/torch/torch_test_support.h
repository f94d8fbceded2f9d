// Shared by TorchInstance's tests: configs, TorchScript modules made on the fly, requests, outputs.
#ifndef SPEECH_MODELS_TORCH_TORCH_TEST_SUPPORT_H_
#define SPEECH_MODELS_TORCH_TORCH_TEST_SUPPORT_H_

#include <google/protobuf/text_format.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "batcher/request.h"
#include "batcher/tensor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/torch/torch_instance.h"
#include "proto/model_config.pb.h"
#include "proto/tensor_types.h"

namespace speech {

// The instance name every test gives its TorchInstance.
inline constexpr char kInstanceName[] = "test_instance";

// One FP32 [-1] input, as `identity` has, and the outputs the test asks for.
inline constexpr char kOneInput[] = R"(
  name: "test"
  max_batch_size: 8
  input { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
)";
inline constexpr char kOneOutput[] = R"(
  output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
)";
inline constexpr char kTwoOutputs[] = R"(
  output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
  output { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ -1 ] }
)";

inline inference::ModelConfig ParseConfig(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

// Compiles a module whose methods are `source` (TorchScript) and saves it under the test's
// temporary directory; returns the file's path. Defined in torch_test_support.cc, the one file
// here that compiles against LibTorch's (slow) headers.
std::string SaveModule(const std::string& file, const std::string& source);

inline TorchInstance::Options Options(std::string model_path, inference::ModelConfig config) {
  TorchInstance::Options options;
  options.model_path = std::move(model_path);
  options.config = std::move(config);
  options.instance_name = kInstanceName;
  return options;
}

inline std::unique_ptr<TorchInstance> MustCreate(TorchInstance::Options options) {
  absl::StatusOr<std::unique_ptr<TorchInstance>> instance = TorchInstance::Create(options);
  EXPECT_TRUE(instance.ok()) << instance.status();
  return instance.ok() ? *std::move(instance) : nullptr;
}

// Adds an input whose bytes the request owns; `shape` starts with the request's rows.
template <typename T>
void AddInput(InferenceRequest& request, const std::string& name, DataType type,
              std::vector<int64_t> shape, const std::vector<T>& values) {
  std::string& bytes = request.owned_data.emplace_back(reinterpret_cast<const char*>(values.data()),
                                                       values.size() * sizeof(T));
  InputTensor input;
  input.name = name;
  input.type = type;
  input.shape = std::move(shape);
  input.data = bytes.data();
  input.byte_size = bytes.size();
  request.batch_rows = input.shape.empty() ? 1 : input.shape.front();
  request.inputs.push_back(std::move(input));
}

// A request to a model with one FP32 input.
inline std::unique_ptr<InferenceRequest> FloatRequest(std::vector<int64_t> shape,
                                                      const std::vector<float>& values) {
  auto request = std::make_unique<InferenceRequest>();
  AddInput(*request, "INPUT0", inference::TYPE_FP32, std::move(shape), values);
  return request;
}

template <typename T>
std::vector<T> Values(const OutputTensor& output) {
  std::vector<T> values(output.data.size() / sizeof(T));
  std::memcpy(values.data(), output.data.data(), values.size() * sizeof(T));
  return values;
}

inline std::vector<float> Iota(int count, float start) {
  std::vector<float> values(count);
  for (int i = 0; i < count; ++i) values[i] = start + static_cast<float>(i);
  return values;
}

inline absl::Status Execute(TorchInstance& instance,
                            const std::vector<std::unique_ptr<InferenceRequest>>& requests) {
  std::vector<InferenceRequest*> batch;
  for (const auto& request : requests) batch.push_back(request.get());
  return instance.Execute(batch);
}

inline void ExpectInternal(const absl::Status& status, const std::vector<std::string>& parts) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  for (const std::string& part : parts) {
    EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(part));
  }
}

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_TORCH_TEST_SUPPORT_H_
