// TorchInstance on a CUDA device: the path through pinned host memory, the instance's own stream
// and the copies back. GPU-only (tagged "gpu"; the CPU configuration in .bazelrc skips it). It
// fails, rather than passing vacuously, where LibTorch sees no GPU.
#include <torch/cuda.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/text_format.h>

#include "gtest/gtest.h"
#include "models/torch/torch_instance.h"
#include "tests/fakes/fake_clock.h"

namespace speech {
namespace {

constexpr char kIdentityConfig[] = R"pb(
  name: "identity"
  max_batch_size: 8
  input { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
  output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
)pb";

std::unique_ptr<InferenceRequest> Request(int64_t rows, int64_t width, float first) {
  auto request = std::make_unique<InferenceRequest>();
  request->batch_rows = rows;
  std::string& bytes = request->owned_data.emplace_back(rows * width * sizeof(float), '\0');
  for (int64_t i = 0; i < rows * width; ++i) {
    const float value = first + static_cast<float>(i);
    std::memcpy(bytes.data() + i * sizeof(float), &value, sizeof(float));
  }
  request->inputs.push_back({"INPUT0", inference::TYPE_FP32, {rows, width}, bytes.data(),
                             bytes.size()});
  return request;
}

TEST(TorchInstanceGpuTest, BatchRunsOnTheGpuAndEachRequestGetsItsOwnRows) {
  ASSERT_TRUE(torch::cuda::is_available()) << "this test needs a GPU that LibTorch can use";
  FakeClock clock;
  TorchInstance::Options options;
  options.model_path = "models/repository/identity/1/model.pt";
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(kIdentityConfig, &options.config));
  options.device = "cuda:0";
  options.instance_name = "identity_0_0_gpu0";
  options.clock = &clock;
  auto instance = TorchInstance::Create(std::move(options));
  ASSERT_TRUE(instance.ok()) << instance.status();

  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(Request(1, 5, 0));
  requests.push_back(Request(2, 5, 100));
  requests.push_back(Request(1, 5, 200));
  std::vector<InferenceRequest*> batch;
  for (const auto& request : requests) batch.push_back(request.get());
  for (int round = 0; round < 3; ++round) {  // the pinned buffers and the stream are reused
    ASSERT_TRUE((*instance)->Execute(batch).ok());
    for (const auto& request : requests) {
      ASSERT_EQ(request->outputs.size(), 1u);
      const OutputTensor& output = request->outputs[0];
      EXPECT_EQ(output.shape, request->inputs[0].shape);
      EXPECT_EQ(output.data, request->owned_data.front());
      EXPECT_EQ(request->executed_batch_rows, 4);
      EXPECT_EQ(request->times.compute_output_end, clock.Now());
    }
  }
}

}  // namespace
}  // namespace speech
