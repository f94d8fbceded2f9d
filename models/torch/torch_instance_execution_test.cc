// TorchInstance under the execution settings of its configuration: intra-op threads per
// instance thread, inference mode or no-grad, the process-wide graph executor modes, NaN outputs
// refused, and forward() under an execution timeout.
#include <ATen/Parallel.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <cmath>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/torch/execution/execution_settings.h"
#include "models/torch/torch_instance.h"
#include "models/torch/torch_test_support.h"

namespace speech {
namespace {

using ::testing::Each;
using ::testing::HasSubstr;

// Each output element is 1 when forward() ran under inference mode (its tensors are inference
// tensors), 0 under no-grad.
constexpr char kInferenceProbe[] = R"(
def forward(self, x):
    y = x * 2.0
    return torch.full(x.size(), float(y.is_inference()))
)";

std::unique_ptr<TorchInstance> ProbeInstance(const ExecutionSettings& execution) {
  TorchInstance::Options options = Options(SaveModule("inference_probe.pt", kInferenceProbe),
                                           ParseConfig(absl::StrCat(kOneInput, kOneOutput)));
  options.execution = execution;
  return MustCreate(options);
}

// Runs one request on `instance` from the calling thread; returns the output's values.
std::vector<float> RunOnce(TorchInstance& instance) {
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 3}, {1.0f, 2.0f, 3.0f}));
  absl::Status status = Execute(instance, requests);
  EXPECT_TRUE(status.ok()) << status;
  return status.ok() ? Values<float>(requests[0]->outputs[0]) : std::vector<float>{};
}

TEST(TorchInstanceExecutionTest, InferenceModeIsTheDefaultAndNoGradOnRequest) {
  ExecutionSettings settings;
  std::unique_ptr<TorchInstance> inference = ProbeInstance(settings);
  ASSERT_NE(inference, nullptr);
  EXPECT_THAT(RunOnce(*inference), Each(1.0f));

  settings.inference_mode = false;
  std::unique_ptr<TorchInstance> no_grad = ProbeInstance(settings);
  ASSERT_NE(no_grad, nullptr);
  EXPECT_THAT(RunOnce(*no_grad), Each(0.0f));
}

TEST(TorchInstanceExecutionTest, EachInstanceThreadRunsWithItsOwnIntraOpThreads) {
  // Two instances on two threads, as the batcher's workers drive them: each thread keeps the
  // count of the instance it runs (LibTorch's OpenMP backend keeps it per thread).
  ExecutionSettings one, three;
  one.intra_op_threads = 1;
  three.intra_op_threads = 3;
  std::unique_ptr<TorchInstance> first = ProbeInstance(one);
  std::unique_ptr<TorchInstance> second = ProbeInstance(three);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  int first_threads = 0, second_threads = 0;
  std::thread a([&] {
    RunOnce(*first);
    first_threads = at::get_num_threads();
  });
  std::thread b([&] {
    RunOnce(*second);
    second_threads = at::get_num_threads();
  });
  a.join();
  b.join();
  EXPECT_EQ(first_threads, 1);
  EXPECT_EQ(second_threads, 3);
}

TEST(TorchInstanceExecutionTest, OptimizedExecutionIsSwitchedOnlyDuringTheRun) {
  ExecutionSettings settings;
  settings.optimized_execution = false;
  std::unique_ptr<TorchInstance> instance = ProbeInstance(settings);
  ASSERT_NE(instance, nullptr);
  EXPECT_THAT(RunOnce(*instance), Each(1.0f));
  EXPECT_TRUE(torch::jit::getGraphExecutorOptimize());  // restored on the calling thread
}

TEST(TorchInstanceExecutionTest, ExecutorModesAreSetWhenTheInstanceIsCreated) {
  const bool profiling = torch::jit::getProfilingMode();
  const bool executor = torch::jit::getExecutorMode();
  ExecutionSettings settings;
  settings.jit_profiling = !profiling;
  settings.jit_executor = !executor;
  std::unique_ptr<TorchInstance> instance = ProbeInstance(settings);
  ASSERT_NE(instance, nullptr);
  EXPECT_EQ(torch::jit::getProfilingMode(), !profiling);
  EXPECT_EQ(torch::jit::getExecutorMode(), !executor);
  EXPECT_THAT(RunOnce(*instance), Each(1.0f));  // and the module runs under them

  settings.jit_profiling.reset();  // unset leaves them as they are
  settings.jit_executor.reset();
  ASSERT_NE(ProbeInstance(settings), nullptr);
  EXPECT_EQ(torch::jit::getProfilingMode(), !profiling);
  torch::jit::getProfilingMode() = profiling;
  torch::jit::getExecutorMode() = executor;
}

TEST(TorchInstanceExecutionTest, NanOutputsFailTheBatchWhenRejectedAndTheInstanceGoesOn) {
  const std::string path = SaveModule("square_root.pt", R"(
def forward(self, x):
    return torch.sqrt(x)
)");
  TorchInstance::Options options = Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput)));
  std::unique_ptr<TorchInstance> allowing = MustCreate(options);
  options.execution.reject_nan_outputs = true;
  std::unique_ptr<TorchInstance> rejecting = MustCreate(options);
  ASSERT_NE(allowing, nullptr);
  ASSERT_NE(rejecting, nullptr);

  std::vector<std::unique_ptr<InferenceRequest>> negative;
  negative.push_back(FloatRequest({1, 3}, {4.0f, -1.0f, -9.0f}));
  negative.push_back(FloatRequest({1, 3}, {1.0f, 1.0f, 1.0f}));
  ExpectInternal(Execute(*rejecting, negative), {"instance 'test_instance'", "output 'OUTPUT0'",
                                                 "holds 2 NaN values of 6", "rejects NaN outputs"});
  ASSERT_TRUE(Execute(*allowing, negative).ok());  // Triton's behaviour: the NaNs go out
  EXPECT_TRUE(std::isnan(Values<float>(negative[0]->outputs[0])[1]));

  std::vector<std::unique_ptr<InferenceRequest>> good;
  good.push_back(FloatRequest({1, 2}, {4.0f, 9.0f}));
  ASSERT_TRUE(Execute(*rejecting, good).ok());
  EXPECT_THAT(Values<float>(good[0]->outputs[0]), ::testing::ElementsAre(2.0f, 3.0f));
}

// forward(x) multiplies a 256x256 matrix x[0][0] times (about a millisecond each) and returns
// 2 * x: a batch as slow as its first element asks.
constexpr char kSlowDoubler[] = R"(
def forward(self, x):
    w = torch.ones(256, 256) / 256.0
    y = torch.ones(256, 256)
    for _ in range(int(x[0, 0])):
        y = torch.mm(y, w)
    return x * 2.0 + (y[0, 0] - 1.0)
)";

TEST(TorchInstanceExecutionTest, ABatchPastTheExecutionTimeoutFailsAndTheInstanceGoesOnAfter) {
  TorchInstance::Options options = Options(SaveModule("slow_doubler.pt", kSlowDoubler),
                                           ParseConfig(absl::StrCat(kOneInput, kOneOutput)));
  options.execution.execution_timeout = absl::Milliseconds(200);
  std::unique_ptr<TorchInstance> instance = MustCreate(options);
  ASSERT_NE(instance, nullptr);

  std::vector<std::unique_ptr<InferenceRequest>> quick;
  quick.push_back(FloatRequest({1, 2}, {1.0f, 3.0f}));
  ASSERT_TRUE(Execute(*instance, quick).ok());
  EXPECT_THAT(Values<float>(quick[0]->outputs[0]), ::testing::ElementsAre(2.0f, 6.0f));

  // 20,000 products, seconds of work: the batch fails at the timeout, while forward()
  // goes on. Its request goes (as a server answers and frees it): forward() runs on its own copy.
  {
    std::vector<std::unique_ptr<InferenceRequest>> slow;
    slow.push_back(FloatRequest({1, 2}, {20000.0f, 1.0f}));
    const absl::Status status = Execute(*instance, slow);
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
    EXPECT_THAT(status.message(), HasSubstr("instance 'test_instance' did not finish the batch "
                                            "within its execution timeout of 200 ms"));
    EXPECT_TRUE(slow[0]->outputs.empty());
  }
  // The next batch finds it still running, waits one more timeout and fails without running.
  std::vector<std::unique_ptr<InferenceRequest>> waiting;
  waiting.push_back(FloatRequest({1, 1}, {1.0f}));
  const absl::Status busy = Execute(*instance, waiting);
  EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
  EXPECT_THAT(busy.message(), HasSubstr("instance 'test_instance' is still running a batch that "
                                        "passed its execution timeout of 200 ms"));

  // Once the slow forward() has ended, the instance serves again (within a minute, however slow
  // this machine is).
  absl::Status status = absl::UnknownError("not run");
  for (int attempt = 0; attempt < 300 && !status.ok(); ++attempt) {
    std::vector<std::unique_ptr<InferenceRequest>> again;
    again.push_back(FloatRequest({1, 2}, {1.0f, 5.0f}));
    status = Execute(*instance, again);
    if (status.ok()) {
      EXPECT_THAT(Values<float>(again[0]->outputs[0]), ::testing::ElementsAre(2.0f, 10.0f));
    } else {
      EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
    }
  }
  EXPECT_TRUE(status.ok()) << status;
}

TEST(TorchInstanceExecutionTest, UnderAnExecutionTimeoutForwardKeepsTheInstanceSettings) {
  // forward() runs on the instance's runner thread, which sets the same thread-local settings.
  ExecutionSettings settings;
  settings.execution_timeout = absl::Seconds(60);
  EXPECT_THAT(RunOnce(*ProbeInstance(settings)), Each(1.0f));
  settings.inference_mode = false;
  EXPECT_THAT(RunOnce(*ProbeInstance(settings)), Each(0.0f));
}

}  // namespace
}  // namespace speech
