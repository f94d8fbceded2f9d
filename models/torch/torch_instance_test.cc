// TorchInstance::Create on the default repository's models and on bad files, devices and
// configurations, and Execute on modules that behave: outputs, batching, phase times and reshape.
#include "models/torch/torch_instance.h"

#include <torch/cuda.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "batcher/clock.h"
#include "batcher/request.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/torch/torch_test_support.h"
#include "tests/fakes/fake_clock.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;

// The default repository, relative to the test's runfiles directory.
constexpr char kRepository[] = "models/repository";

std::string ModelPath(const std::string& model) {
  return absl::StrCat(kRepository, "/", model, "/1/model.pt");
}

// The configuration the exporter wrote for `model`.
inference::ModelConfig ReadConfig(const std::string& model) {
  std::ifstream file(absl::StrCat(kRepository, "/", model, "/config.pbtxt"));
  EXPECT_TRUE(file) << model;
  std::stringstream text;
  text << file.rdbuf();
  return ParseConfig(text.str());
}

// Moves one millisecond every time it is read, so that each stamp shows when it was taken.
class TickingClock : public Clock {
 public:
  absl::Time start() const { return start_; }
  absl::Time Now() const override {
    fake_.Advance(absl::Milliseconds(1));
    return fake_.Now();
  }
  std::unique_ptr<Sleeper> NewSleeper(std::function<void()> wake) override {
    return fake_.NewSleeper(std::move(wake));
  }

 private:
  mutable FakeClock fake_;
  const absl::Time start_ = fake_.Now();
};

// --- Create ---

TEST(TorchInstanceCreateTest, LoadsEveryDefaultModel) {
  for (const char* model : {"identity", "simple", "fastpitch", "wav2vec2"}) {
    SCOPED_TRACE(model);
    auto instance = TorchInstance::Create(Options(ModelPath(model), ReadConfig(model)));
    ASSERT_TRUE(instance.ok()) << instance.status();
    EXPECT_EQ((*instance)->name(), kInstanceName);
  }
}

TEST(TorchInstanceCreateTest, MissingFileIsNotFound) {
  auto instance = TorchInstance::Create(
      Options(absl::StrCat(testing::TempDir(), "/absent.pt"), ReadConfig("identity")));
  EXPECT_EQ(instance.status().code(), absl::StatusCode::kNotFound) << instance.status();
  EXPECT_THAT(std::string(instance.status().message()), HasSubstr("absent.pt"));
}

TEST(TorchInstanceCreateTest, DirectoryIsNotFound) {
  auto instance = TorchInstance::Create(Options(testing::TempDir(), ReadConfig("identity")));
  EXPECT_EQ(instance.status().code(), absl::StatusCode::kNotFound) << instance.status();
}

TEST(TorchInstanceCreateTest, NonTorchScriptFileIsInvalidArgument) {
  const std::string path = absl::StrCat(testing::TempDir(), "/garbage.pt");
  std::ofstream(path) << "not a TorchScript archive";
  auto instance = TorchInstance::Create(Options(path, ReadConfig("identity")));
  EXPECT_EQ(instance.status().code(), absl::StatusCode::kInvalidArgument) << instance.status();
  EXPECT_THAT(std::string(instance.status().message()),
              AllOf(HasSubstr("garbage.pt"), HasSubstr("could not be loaded by LibTorch")));
}

TEST(TorchInstanceCreateTest, InputTypeLibTorchLacksIsInvalidArgument) {
  inference::ModelConfig config = ReadConfig("identity");
  config.mutable_input(0)->set_data_type(inference::TYPE_UINT32);
  auto instance = TorchInstance::Create(Options(ModelPath("identity"), config));
  EXPECT_EQ(instance.status().code(), absl::StatusCode::kInvalidArgument) << instance.status();
  EXPECT_THAT(std::string(instance.status().message()),
              AllOf(HasSubstr("INPUT0"), HasSubstr("TYPE_UINT32")));
}

TEST(TorchInstanceCreateTest, ForwardArityDifferentFromConfigIsInvalidArgument) {
  // `simple` takes two inputs; the identity configuration lists one.
  auto fewer = TorchInstance::Create(Options(ModelPath("simple"), ReadConfig("identity")));
  EXPECT_EQ(fewer.status().code(), absl::StatusCode::kInvalidArgument) << fewer.status();
  EXPECT_THAT(std::string(fewer.status().message()),
              HasSubstr("forward() takes 2 inputs but the configuration lists 1"));

  auto more = TorchInstance::Create(Options(ModelPath("identity"), ReadConfig("simple")));
  EXPECT_EQ(more.status().code(), absl::StatusCode::kInvalidArgument) << more.status();
  EXPECT_THAT(std::string(more.status().message()),
              HasSubstr("forward() takes 1 inputs but the configuration lists 2"));
}

TEST(TorchInstanceCreateTest, CudaDeviceOnCpuHostIsFailedPrecondition) {
  if (torch::cuda::is_available()) GTEST_SKIP() << "this host has CUDA";
  TorchInstance::Options options = Options(ModelPath("identity"), ReadConfig("identity"));
  options.device = "cuda:0";
  auto instance = TorchInstance::Create(options);
  EXPECT_EQ(instance.status().code(), absl::StatusCode::kFailedPrecondition) << instance.status();
  EXPECT_THAT(std::string(instance.status().message()),
              AllOf(HasSubstr(kInstanceName), HasSubstr("cuda:0")));
}

TEST(TorchInstanceCreateTest, UnparsableDeviceIsInvalidArgument) {
  TorchInstance::Options options = Options(ModelPath("identity"), ReadConfig("identity"));
  options.device = "gpu-zero";
  auto instance = TorchInstance::Create(options);
  EXPECT_EQ(instance.status().code(), absl::StatusCode::kInvalidArgument) << instance.status();
  EXPECT_THAT(std::string(instance.status().message()),
              AllOf(HasSubstr(kInstanceName), HasSubstr("bad device 'gpu-zero'")));
}

// --- Execute on the default repository's models ---

TEST(TorchInstanceExecuteTest, IdentityOneRequest) {
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(ModelPath("identity"), ReadConfig("identity")));
  ASSERT_NE(instance, nullptr);
  const std::vector<float> values = Iota(6, 0.5f);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({2, 3}, values));

  ASSERT_TRUE(Execute(*instance, requests).ok());
  ASSERT_EQ(requests[0]->outputs.size(), 1u);
  const OutputTensor& output = requests[0]->outputs[0];
  EXPECT_EQ(output.name, "OUTPUT0");
  EXPECT_EQ(output.type, inference::TYPE_FP32);
  EXPECT_THAT(output.shape, ElementsAre(2, 3));
  EXPECT_THAT(Values<float>(output), ElementsAreArray(values));
  EXPECT_EQ(requests[0]->executed_batch_rows, 2);
}

TEST(TorchInstanceExecuteTest, LoneRequestRunsOnItsOwnBytes) {
  // A module that writes into its input shows whether it got the request's bytes or a copy.
  const std::string path = SaveModule("in_place.pt", R"(
def forward(self, x):
    x.mul_(2.0)
    return x.clone()
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kOneOutput))));
  ASSERT_NE(instance, nullptr);

  std::vector<std::unique_ptr<InferenceRequest>> lone;
  lone.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));
  ASSERT_TRUE(Execute(*instance, lone).ok());
  EXPECT_THAT(Values<float>(lone[0]->outputs[0]), ElementsAre(2.0f, 4.0f));
  const std::string& lone_bytes = lone[0]->owned_data.front();
  EXPECT_EQ(lone_bytes.size(), 2 * sizeof(float));
  float lone_input[2];
  std::memcpy(lone_input, lone_bytes.data(), sizeof(lone_input));
  EXPECT_THAT(lone_input, ElementsAre(2.0f, 4.0f));

  // Two requests are gathered into a tensor of their own: the requests' bytes stay as they were.
  std::vector<std::unique_ptr<InferenceRequest>> pair;
  pair.push_back(FloatRequest({1, 2}, {1.0f, 2.0f}));
  pair.push_back(FloatRequest({1, 2}, {3.0f, 4.0f}));
  ASSERT_TRUE(Execute(*instance, pair).ok());
  EXPECT_THAT(Values<float>(pair[1]->outputs[0]), ElementsAre(6.0f, 8.0f));
  float pair_input[2];
  std::memcpy(pair_input, pair[1]->owned_data.front().data(), sizeof(pair_input));
  EXPECT_THAT(pair_input, ElementsAre(3.0f, 4.0f));
}

TEST(TorchInstanceExecuteTest, IdentityBatchGivesEachRequestItsOwnRows) {
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(ModelPath("identity"), ReadConfig("identity")));
  ASSERT_NE(instance, nullptr);
  const std::vector<int64_t> rows = {1, 2, 1};
  std::vector<std::vector<float>> values;
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  for (size_t r = 0; r < rows.size(); ++r) {
    values.push_back(Iota(static_cast<int>(rows[r]) * 5, 100.0f * static_cast<float>(r)));
    requests.push_back(FloatRequest({rows[r], 5}, values.back()));
  }

  ASSERT_TRUE(Execute(*instance, requests).ok());
  for (size_t r = 0; r < rows.size(); ++r) {
    SCOPED_TRACE(r);
    ASSERT_EQ(requests[r]->outputs.size(), 1u);
    const OutputTensor& output = requests[r]->outputs[0];
    EXPECT_THAT(output.shape, ElementsAre(rows[r], 5));
    // Bit for bit: the bytes, not just the values.
    EXPECT_EQ(output.data, requests[r]->owned_data.front());
    EXPECT_THAT(Values<float>(output), ElementsAreArray(values[r]));
    EXPECT_EQ(requests[r]->executed_batch_rows, 4);
  }
}

TEST(TorchInstanceExecuteTest, PhaseTimesComeFromTheInjectedClock) {
  FakeClock clock;
  TorchInstance::Options options = Options(ModelPath("identity"), ReadConfig("identity"));
  options.clock = &clock;
  std::unique_ptr<TorchInstance> instance = MustCreate(options);
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 3}, Iota(3, 0)));
  requests.push_back(FloatRequest({1, 3}, Iota(3, 3)));

  ASSERT_TRUE(Execute(*instance, requests).ok());
  for (const auto& request : requests) {
    const PhaseTimes& times = request->times;
    EXPECT_EQ(times.compute_input_start, clock.Now());
    EXPECT_EQ(times.compute_input_end, clock.Now());
    EXPECT_EQ(times.compute_infer_start, clock.Now());
    EXPECT_EQ(times.compute_infer_end, clock.Now());
    EXPECT_EQ(times.compute_output_start, clock.Now());
    EXPECT_EQ(times.compute_output_end, clock.Now());
    // The batcher's stamps are not the instance's to write.
    EXPECT_EQ(times.arrival, absl::InfinitePast());
    EXPECT_EQ(times.dispatch, absl::InfinitePast());
  }
}

TEST(TorchInstanceExecuteTest, PhasesFollowEachOther) {
  TickingClock clock;
  TorchInstance::Options options = Options(ModelPath("identity"), ReadConfig("identity"));
  options.clock = &clock;
  std::unique_ptr<TorchInstance> instance = MustCreate(options);
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 3}, Iota(3, 0)));

  ASSERT_TRUE(Execute(*instance, requests).ok());
  const PhaseTimes& times = requests[0]->times;
  const absl::Time start = clock.start();
  EXPECT_EQ(times.compute_input_start, start + absl::Milliseconds(1));
  EXPECT_EQ(times.compute_input_end, start + absl::Milliseconds(2));
  EXPECT_EQ(times.compute_infer_start, times.compute_input_end);
  EXPECT_EQ(times.compute_infer_end, start + absl::Milliseconds(3));
  EXPECT_EQ(times.compute_output_start, times.compute_infer_end);
  EXPECT_EQ(times.compute_output_end, start + absl::Milliseconds(4));
}

TEST(TorchInstanceExecuteTest, SimpleAddsAndSubtracts) {
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(ModelPath("simple"), ReadConfig("simple")));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  std::vector<std::vector<int32_t>> a(2), b(2);
  for (int r = 0; r < 2; ++r) {
    const int rows = r + 1;  // 1 and 2 rows
    for (int i = 0; i < rows * 16; ++i) {
      a[r].push_back(i + 1000 * r);
      b[r].push_back(3 * i - 7);
    }
    auto request = std::make_unique<InferenceRequest>();
    AddInput(*request, "INPUT0", inference::TYPE_INT32, {rows, 16}, a[r]);
    AddInput(*request, "INPUT1", inference::TYPE_INT32, {rows, 16}, b[r]);
    requests.push_back(std::move(request));
  }

  ASSERT_TRUE(Execute(*instance, requests).ok());
  for (int r = 0; r < 2; ++r) {
    SCOPED_TRACE(r);
    const std::vector<OutputTensor>& outputs = requests[r]->outputs;
    ASSERT_EQ(outputs.size(), 2u);
    std::vector<int32_t> sum, difference;
    for (size_t i = 0; i < a[r].size(); ++i) {
      sum.push_back(a[r][i] + b[r][i]);
      difference.push_back(a[r][i] - b[r][i]);
    }
    EXPECT_EQ(outputs[0].name, "OUTPUT0");
    EXPECT_EQ(outputs[1].name, "OUTPUT1");
    EXPECT_EQ(outputs[0].type, inference::TYPE_INT32);
    EXPECT_THAT(outputs[0].shape, ElementsAre(r + 1, 16));
    EXPECT_THAT(outputs[1].shape, ElementsAre(r + 1, 16));
    EXPECT_THAT(Values<int32_t>(outputs[0]), ElementsAreArray(sum));
    EXPECT_THAT(Values<int32_t>(outputs[1]), ElementsAreArray(difference));
    EXPECT_EQ(requests[r]->executed_batch_rows, 3);
  }
}

TEST(TorchInstanceExecuteTest, FastPitchBatchShapesAndReshape) {
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(ModelPath("fastpitch"), ReadConfig("fastpitch")));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  for (int r = 0; r < 2; ++r) {
    std::vector<int64_t> symbols;
    for (int i = 0; i < 12; ++i) symbols.push_back(1 + (7 * i + 31 * r) % 140);
    auto request = std::make_unique<InferenceRequest>();
    AddInput(*request, "INPUT__0", inference::TYPE_INT64, {1, 12}, symbols);
    requests.push_back(std::move(request));
  }

  ASSERT_TRUE(Execute(*instance, requests).ok());
  for (const auto& request : requests) {
    const std::vector<OutputTensor>& outputs = request->outputs;
    ASSERT_EQ(outputs.size(), 5u);
    ASSERT_EQ(outputs[0].shape.size(), 3u);
    EXPECT_EQ(outputs[0].shape[0], 1);
    EXPECT_EQ(outputs[0].shape[1], 80);
    // mel_lens is [B] in the model; the configuration's reshape gives clients [B, 1].
    EXPECT_THAT(outputs[1].shape, ElementsAre(1, 1));
    ASSERT_EQ(outputs[1].data.size(), sizeof(int64_t));
    const int64_t mel_length = Values<int64_t>(outputs[1])[0];
    EXPECT_GE(mel_length, 1);
    EXPECT_LE(mel_length, outputs[0].shape[2]);
    EXPECT_THAT(outputs[2].shape, ElementsAre(1, 12));
    EXPECT_THAT(outputs[3].shape, ElementsAre(1, 1, 12));
    EXPECT_THAT(outputs[4].shape, ElementsAre(1, 12));
  }
}

TEST(TorchInstanceExecuteTest, DifferentNonBatchShapesCannotShareABatch) {
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(ModelPath("identity"), ReadConfig("identity")));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 4}, Iota(4, 0)));
  requests.push_back(FloatRequest({1, 5}, Iota(5, 0)));

  absl::Status status = Execute(*instance, requests);
  ExpectInternal(status, {kInstanceName, "INPUT0", "[1, 4]", "[1, 5]", "cannot share a batch"});
  EXPECT_TRUE(requests[0]->outputs.empty());
  EXPECT_EQ(requests[0]->executed_batch_rows, 0);
}

TEST(TorchInstanceExecuteTest, NonBatchingModelKeepsShapesWithoutBatchDim) {
  const std::string path = SaveModule("negate.pt", R"(
def forward(self, x):
    return -x
)");
  const inference::ModelConfig config = ParseConfig(R"(
    max_batch_size: 0
    input { name: "INPUT0" data_type: TYPE_FP32 dims: [ 3 ] }
    output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 3 ] }
  )");
  std::unique_ptr<TorchInstance> instance = MustCreate(Options(path, config));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({3}, {1.0f, -2.0f, 3.0f}));

  ASSERT_TRUE(Execute(*instance, requests).ok());
  EXPECT_THAT(requests[0]->outputs[0].shape, ElementsAre(3));
  EXPECT_THAT(Values<float>(requests[0]->outputs[0]), ElementsAre(-1.0f, 2.0f, -3.0f));
}

TEST(TorchInstanceExecuteTest, ListOfTensorsIsAccepted) {
  const std::string path = SaveModule("list.pt", R"(
def forward(self, x) -> List[Tensor]:
    return [x + 1.0, x * 2.0]
)");
  std::unique_ptr<TorchInstance> instance =
      MustCreate(Options(path, ParseConfig(absl::StrCat(kOneInput, kTwoOutputs))));
  ASSERT_NE(instance, nullptr);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 2}, {1.0f, 5.0f}));

  ASSERT_TRUE(Execute(*instance, requests).ok());
  ASSERT_EQ(requests[0]->outputs.size(), 2u);
  EXPECT_THAT(Values<float>(requests[0]->outputs[0]), ElementsAre(2.0f, 6.0f));
  EXPECT_THAT(Values<float>(requests[0]->outputs[1]), ElementsAre(2.0f, 10.0f));
}

TEST(TorchInstanceExecuteTest, ReshapeGivesTheConfiguredClientDims) {
  // The model makes [B, 2, 3]; clients see [B, 6], given fixed or left variable.
  const std::string path = SaveModule("reshape.pt", R"(
def forward(self, x):
    rows = x.size(0)
    return (x.reshape([rows, 2, 3]), x.reshape([rows, 2, 3]))
)");
  const inference::ModelConfig config = ParseConfig(R"(
    max_batch_size: 8
    input { name: "INPUT0" data_type: TYPE_FP32 dims: [ 6 ] }
    output { name: "FIXED" data_type: TYPE_FP32 dims: [ 6 ] reshape { shape: [ 2, 3 ] } }
    output { name: "VARIABLE" data_type: TYPE_FP32 dims: [ -1 ] reshape { shape: [ 2, 3 ] } }
  )");
  std::unique_ptr<TorchInstance> instance = MustCreate(Options(path, config));
  ASSERT_NE(instance, nullptr);
  const std::vector<float> first = Iota(6, 0), second = Iota(12, 10);
  std::vector<std::unique_ptr<InferenceRequest>> requests;
  requests.push_back(FloatRequest({1, 6}, first));
  requests.push_back(FloatRequest({2, 6}, second));

  ASSERT_TRUE(Execute(*instance, requests).ok());
  for (int j = 0; j < 2; ++j) {
    SCOPED_TRACE(j);
    EXPECT_THAT(requests[0]->outputs[j].shape, ElementsAre(1, 6));
    EXPECT_THAT(requests[1]->outputs[j].shape, ElementsAre(2, 6));
    EXPECT_THAT(Values<float>(requests[0]->outputs[j]), ElementsAreArray(first));
    EXPECT_THAT(Values<float>(requests[1]->outputs[j]), ElementsAreArray(second));
  }
}

}  // namespace
}  // namespace speech
