#include "models/warmup.h"

#include <google/protobuf/text_format.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "batcher/request.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_executor.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::Each;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::SizeIs;

// Two inputs with variable dims; the outputs are configured as the inputs are, so an echo passes.
constexpr char kTwoInputs[] = R"(
  name: "m"
  max_batch_size: 4
  input { name: "AUDIO" data_type: TYPE_FP32 dims: [ -1, 80 ] }
  input { name: "TEXT" data_type: TYPE_INT64 dims: [ -1 ] }
  output { name: "MEL" data_type: TYPE_FP32 dims: [ -1, 80 ] }
  output { name: "LENGTHS" data_type: TYPE_INT64 dims: [ -1 ] }
)";

// One FP32 [-1] input and its echo, as FakeExecutor answers.
constexpr char kOneInput[] = R"(
  name: "m"
  max_batch_size: 8
  input { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
  output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
)";

inference::ModelConfig Config(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

// kOneInput with one model_warmup sample: `fields` (name, batch_size, count) and the sample's
// INPUT0 (a ModelWarmup.Input in text form).
inference::ModelConfig OneInputSample(const std::string& fields, const std::string& input) {
  return Config(absl::StrCat(kOneInput, "model_warmup { ", fields,
                             " inputs { key: \"INPUT0\" value { ", input, " } } }"));
}

// Records what every Execute saw and answers each request with its own inputs (in order, as the
// configuration's outputs), or with outputs of the shapes the test sets.
class RecordingExecutor : public BatchExecutor {
 public:
  struct Input {
    std::string name;
    DataType type;
    std::vector<int64_t> shape;
    std::string bytes;
  };
  struct Call {
    size_t requests = 0;
    int64_t batch_rows = 0;
    std::vector<Input> inputs;  // of the first request
  };

  void AnswerWithShapes(std::vector<std::vector<int64_t>> shapes) { shapes_ = std::move(shapes); }
  const std::vector<Call>& calls() const { return calls_; }

  absl::Status Execute(absl::Span<InferenceRequest* const> batch) override {
    InferenceRequest& request = *batch.front();
    Call call;
    call.requests = batch.size();
    call.batch_rows = request.batch_rows;
    for (const InputTensor& input : request.inputs) {
      call.inputs.push_back(
          {input.name, input.type, input.shape, std::string(input.data, input.byte_size)});
    }
    calls_.push_back(std::move(call));
    request.outputs.clear();
    if (shapes_.empty()) {
      for (const InputTensor& input : request.inputs) {
        request.outputs.push_back(
            {input.name, input.type, input.shape, std::string(input.data, input.byte_size)});
      }
    } else {
      for (size_t j = 0; j < shapes_.size(); ++j) {
        const DataType type =
            j < request.inputs.size() ? request.inputs[j].type : inference::TYPE_FP32;
        request.outputs.push_back({"out", type, shapes_[j], ""});
      }
    }
    return absl::OkStatus();
  }

 private:
  std::vector<std::vector<int64_t>> shapes_;
  std::vector<Call> calls_;
};

template <typename T>
std::vector<T> Values(const std::string& bytes) {
  std::vector<T> values(bytes.size() / sizeof(T));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
  return values;
}

// A fresh model directory under the test's temporary directory.
std::string ModelDir(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(testing::TempDir()) / name;
  std::filesystem::create_directories(dir / "warmup");
  return dir.string();
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(file.good()) << path;
}

void ExpectError(const absl::Status& status, absl::StatusCode code,
                 const std::vector<std::string>& parts) {
  EXPECT_EQ(status.code(), code) << status;
  for (const std::string& part : parts) EXPECT_THAT(std::string(status.message()), HasSubstr(part));
}

// --- The default warm-up ---

TEST(WarmUpTest, DefaultIsOneFullBatchOfOnesWithVariableDimsAt128) {
  RecordingExecutor executor;
  ASSERT_TRUE(WarmUp(executor, Config(kTwoInputs), ModelDir("default")).ok());

  ASSERT_THAT(executor.calls(), SizeIs(1));
  const RecordingExecutor::Call& call = executor.calls()[0];
  EXPECT_EQ(call.requests, 1u);
  EXPECT_EQ(call.batch_rows, 4);
  ASSERT_THAT(call.inputs, SizeIs(2));
  EXPECT_EQ(call.inputs[0].name, "AUDIO");
  EXPECT_EQ(call.inputs[0].type, inference::TYPE_FP32);
  EXPECT_THAT(call.inputs[0].shape, ElementsAre(4, 128, 80));
  EXPECT_THAT(Values<float>(call.inputs[0].bytes), AllOf(SizeIs(4 * 128 * 80), Each(1.0f)));
  EXPECT_EQ(call.inputs[1].name, "TEXT");
  EXPECT_EQ(call.inputs[1].type, inference::TYPE_INT64);
  EXPECT_THAT(call.inputs[1].shape, ElementsAre(4, 128));
  EXPECT_THAT(Values<int64_t>(call.inputs[1].bytes), AllOf(SizeIs(4 * 128), Each(1)));
}

TEST(WarmUpTest, DefaultOnesInEveryType) {
  RecordingExecutor executor;
  const inference::ModelConfig config = Config(R"(
    max_batch_size: 1
    input { name: "HALF" data_type: TYPE_FP16 dims: [ 1 ] }
    input { name: "BRAIN" data_type: TYPE_BF16 dims: [ 1 ] }
    input { name: "DOUBLE" data_type: TYPE_FP64 dims: [ 1 ] }
    input { name: "INT16" data_type: TYPE_INT16 dims: [ 1 ] }
    input { name: "FLAG" data_type: TYPE_BOOL dims: [ 1 ] }
    output { name: "HALF_OUT" data_type: TYPE_FP16 dims: [ 1 ] }
    output { name: "BRAIN_OUT" data_type: TYPE_BF16 dims: [ 1 ] }
    output { name: "DOUBLE_OUT" data_type: TYPE_FP64 dims: [ 1 ] }
    output { name: "INT16_OUT" data_type: TYPE_INT16 dims: [ 1 ] }
    output { name: "FLAG_OUT" data_type: TYPE_BOOL dims: [ 1 ] }
  )");
  ASSERT_TRUE(WarmUp(executor, config, ModelDir("types")).ok());

  ASSERT_THAT(executor.calls(), SizeIs(1));
  const std::vector<RecordingExecutor::Input>& inputs = executor.calls()[0].inputs;
  ASSERT_THAT(inputs, SizeIs(5));
  EXPECT_EQ(inputs[0].bytes, std::string("\x00\x3c", 2));  // 1.0 in IEEE half, little-endian
  EXPECT_EQ(inputs[1].bytes, std::string("\x80\x3f", 2));  // 1.0 in bfloat16
  EXPECT_THAT(Values<double>(inputs[2].bytes), ElementsAre(1.0));
  EXPECT_THAT(Values<int16_t>(inputs[3].bytes), ElementsAre(1));
  EXPECT_EQ(inputs[4].bytes, std::string("\x01", 1));
}

TEST(WarmUpTest, DefaultForModelWithoutBatchDimension) {
  RecordingExecutor executor;
  const inference::ModelConfig config = Config(R"(
    max_batch_size: 0
    input { name: "INPUT0" data_type: TYPE_FP32 dims: [ 2, -1 ] }
    output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 2, -1 ] }
  )");
  ASSERT_TRUE(WarmUp(executor, config, ModelDir("unbatched")).ok());

  ASSERT_THAT(executor.calls(), SizeIs(1));
  EXPECT_EQ(executor.calls()[0].batch_rows, 1);
  EXPECT_THAT(executor.calls()[0].inputs[0].shape, ElementsAre(2, 128));
}

TEST(WarmUpTest, DefaultWithFakeExecutor) {
  FakeExecutor executor;
  ASSERT_TRUE(WarmUp(executor, Config(kOneInput), ModelDir("fake")).ok());
  ASSERT_THAT(executor.batches(), SizeIs(1));
  EXPECT_THAT(executor.batches()[0].rows, ElementsAre(8));
}

// --- model_warmup samples ---

TEST(WarmUpTest, ZeroDataSampleWithBatchSize) {
  RecordingExecutor executor;
  const inference::ModelConfig config = OneInputSample(
      R"(name: "zeros" batch_size: 2)", R"(data_type: TYPE_FP32 dims: [ 3 ] zero_data: true)");
  ASSERT_TRUE(WarmUp(executor, config, ModelDir("zeros")).ok());

  ASSERT_THAT(executor.calls(), SizeIs(1));
  const RecordingExecutor::Call& call = executor.calls()[0];
  EXPECT_EQ(call.batch_rows, 2);
  EXPECT_THAT(call.inputs[0].shape, ElementsAre(2, 3));
  EXPECT_THAT(Values<float>(call.inputs[0].bytes), ElementsAre(0, 0, 0, 0, 0, 0));
}

TEST(WarmUpTest, SampleWithoutDataKindIsOnes) {
  RecordingExecutor executor;
  const inference::ModelConfig config =
      OneInputSample(R"(name: "plain")", R"(data_type: TYPE_FP32 dims: [ 2 ])");
  ASSERT_TRUE(WarmUp(executor, config, ModelDir("plain")).ok());

  ASSERT_THAT(executor.calls(), SizeIs(1));
  // batch_size 0 means one row.
  EXPECT_EQ(executor.calls()[0].batch_rows, 1);
  EXPECT_THAT(executor.calls()[0].inputs[0].shape, ElementsAre(1, 2));
  EXPECT_THAT(Values<float>(executor.calls()[0].inputs[0].bytes), ElementsAre(1.0f, 1.0f));
}

TEST(WarmUpTest, RandomDataSampleIsInRangeAndRepeatable) {
  const inference::ModelConfig config =
      OneInputSample(R"(name: "noise")", R"(data_type: TYPE_FP32 dims: [ 64 ] random_data: true)");
  RecordingExecutor first, second;
  ASSERT_TRUE(WarmUp(first, config, ModelDir("random")).ok());
  ASSERT_TRUE(WarmUp(second, config, ModelDir("random")).ok());

  ASSERT_THAT(first.calls(), SizeIs(1));
  ASSERT_THAT(second.calls(), SizeIs(1));
  const std::vector<float> values = Values<float>(first.calls()[0].inputs[0].bytes);
  ASSERT_THAT(values, SizeIs(64));
  float lowest = values[0], highest = values[0];
  for (float value : values) {
    EXPECT_GE(value, -1.0f);
    EXPECT_LE(value, 1.0f);
    lowest = std::min(lowest, value);
    highest = std::max(highest, value);
  }
  EXPECT_LT(lowest, highest);  // not a constant fill
  EXPECT_EQ(first.calls()[0].inputs[0].bytes, second.calls()[0].inputs[0].bytes);
}

TEST(WarmUpTest, InputDataFileIsReadFromTheWarmupFolder) {
  const std::string dir = ModelDir("file");
  const std::vector<float> values = {1.5f, -2.0f, 3.25f, 4.0f, 5.0f, -6.5f};
  const std::string bytes(reinterpret_cast<const char*>(values.data()),
                          values.size() * sizeof(float));
  WriteFile(dir + "/warmup/input0.bin", bytes);
  const inference::ModelConfig config =
      OneInputSample(R"(name: "from_file" batch_size: 2)",
                     R"(data_type: TYPE_FP32 dims: [ 3 ] input_data_file: "input0.bin")");
  RecordingExecutor executor;
  ASSERT_TRUE(WarmUp(executor, config, dir).ok());

  ASSERT_THAT(executor.calls(), SizeIs(1));
  EXPECT_THAT(executor.calls()[0].inputs[0].shape, ElementsAre(2, 3));
  EXPECT_EQ(executor.calls()[0].inputs[0].bytes, bytes);
}

TEST(WarmUpTest, MissingInputDataFileIsNotFound) {
  const std::string dir = ModelDir("missing_file");
  const inference::ModelConfig config = OneInputSample(
      R"(name: "from_file")", R"(data_type: TYPE_FP32 dims: [ 3 ] input_data_file: "absent.bin")");
  RecordingExecutor executor;
  ExpectError(WarmUp(executor, config, dir), absl::StatusCode::kNotFound,
              {dir + "/warmup/absent.bin"});
  EXPECT_THAT(executor.calls(), SizeIs(0));
}

TEST(WarmUpTest, InputDataFileOfWrongSizeIsInvalidArgument) {
  const std::string dir = ModelDir("short_file");
  WriteFile(dir + "/warmup/short.bin", std::string(8, '\0'));
  const inference::ModelConfig config = OneInputSample(
      R"(name: "from_file")", R"(data_type: TYPE_FP32 dims: [ 3 ] input_data_file: "short.bin")");
  RecordingExecutor executor;
  ExpectError(WarmUp(executor, config, dir), absl::StatusCode::kInvalidArgument,
              {"short.bin", "has 8 bytes; expected 12"});
  EXPECT_THAT(executor.calls(), SizeIs(0));
}

TEST(WarmUpTest, CountRepeatsASample) {
  const inference::ModelConfig config = OneInputSample(
      R"(name: "thrice" count: 3)", R"(data_type: TYPE_FP32 dims: [ 4 ] zero_data: true)");
  FakeExecutor executor;
  ASSERT_TRUE(WarmUp(executor, config, ModelDir("count")).ok());
  EXPECT_THAT(executor.batches(), SizeIs(3));

  // A sample that gives no count runs once.
  const inference::ModelConfig uncounted =
      OneInputSample(R"(name: "once")", R"(data_type: TYPE_FP32 dims: [ 4 ])");
  FakeExecutor once;
  ASSERT_TRUE(WarmUp(once, uncounted, ModelDir("count")).ok());
  EXPECT_THAT(once.batches(), SizeIs(1));
}

TEST(WarmUpTest, SamplesRunInConfigurationOrder) {
  const inference::ModelConfig config = Config(absl::StrCat(kOneInput, R"(
    model_warmup {
      name: "short"
      inputs {
        key: "INPUT0"
        value { data_type: TYPE_FP32 dims: [ 2 ] zero_data: true }
      }
    }
    model_warmup {
      name: "long"
      batch_size: 3
      inputs {
        key: "INPUT0"
        value { data_type: TYPE_FP32 dims: [ 5 ] zero_data: true }
      }
    }
  )"));
  RecordingExecutor executor;
  ASSERT_TRUE(WarmUp(executor, config, ModelDir("order")).ok());

  ASSERT_THAT(executor.calls(), SizeIs(2));
  EXPECT_THAT(executor.calls()[0].inputs[0].shape, ElementsAre(1, 2));
  EXPECT_THAT(executor.calls()[1].inputs[0].shape, ElementsAre(3, 5));
}

TEST(WarmUpTest, BatchSizeIgnoredWithoutBatchDimension) {
  const inference::ModelConfig config = Config(R"(
    max_batch_size: 0
    input { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
    output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] }
    model_warmup {
      name: "sample"
      batch_size: 4
      inputs {
        key: "INPUT0"
        value { data_type: TYPE_FP32 dims: [ 6 ] zero_data: true }
      }
    }
  )");
  RecordingExecutor executor;
  ASSERT_TRUE(WarmUp(executor, config, ModelDir("no_batch_dim")).ok());

  ASSERT_THAT(executor.calls(), SizeIs(1));
  EXPECT_EQ(executor.calls()[0].batch_rows, 1);
  EXPECT_THAT(executor.calls()[0].inputs[0].shape, ElementsAre(6));
}

TEST(WarmUpTest, SampleMissingAnInputIsInvalidArgument) {
  const inference::ModelConfig config = Config(absl::StrCat(kTwoInputs, R"(
    model_warmup {
      name: "audio_only"
      inputs {
        key: "AUDIO"
        value { data_type: TYPE_FP32 dims: [ 10, 80 ] zero_data: true }
      }
    }
  )"));
  RecordingExecutor executor;
  ExpectError(WarmUp(executor, config, ModelDir("missing_input")),
              absl::StatusCode::kInvalidArgument,
              {"model_warmup 'audio_only'", "no data for input 'TEXT'"});
  EXPECT_THAT(executor.calls(), SizeIs(0));
}

TEST(WarmUpTest, SampleTypeDifferentFromInputIsInvalidArgument) {
  const inference::ModelConfig config =
      OneInputSample(R"(name: "ints")", R"(data_type: TYPE_INT32 dims: [ 3 ] zero_data: true)");
  RecordingExecutor executor;
  ExpectError(WarmUp(executor, config, ModelDir("type")), absl::StatusCode::kInvalidArgument,
              {"model_warmup 'ints'", "'INPUT0'", "TYPE_INT32", "TYPE_FP32"});
  EXPECT_THAT(executor.calls(), SizeIs(0));
}

TEST(WarmUpTest, SampleWithVariableDimIsInvalidArgument) {
  const inference::ModelConfig config =
      OneInputSample(R"(name: "unsized")", R"(data_type: TYPE_FP32 dims: [ -1 ] zero_data: true)");
  RecordingExecutor executor;
  ExpectError(WarmUp(executor, config, ModelDir("variable")), absl::StatusCode::kInvalidArgument,
              {"model_warmup 'unsized'", "'INPUT0'", "[-1]"});
  EXPECT_THAT(executor.calls(), SizeIs(0));
}

// --- Executor failures ---

TEST(WarmUpTest, ExecutorFailureIsPrefixedWithTheSampleName) {
  FakeExecutor executor;
  executor.FailBatch(0, absl::UnavailableError("device lost"));
  const absl::Status status = WarmUp(executor, Config(kOneInput), ModelDir("fail_default"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_EQ(status.message(), "warm-up 'default' failed: device lost");
}

TEST(WarmUpTest, ExecutorFailureStopsTheRepeats) {
  const inference::ModelConfig config = OneInputSample(
      R"(name: "thrice" count: 3)", R"(data_type: TYPE_FP32 dims: [ 4 ] zero_data: true)");
  FakeExecutor executor;
  executor.FailBatch(1, absl::InternalError("out of memory"));
  const absl::Status status = WarmUp(executor, config, ModelDir("fail_second"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_EQ(status.message(), "warm-up 'thrice' failed: out of memory");
  EXPECT_THAT(executor.batches(), SizeIs(2));
}

// --- The output check ---

TEST(WarmUpTest, OutputVariableDimsMatchAnything) {
  RecordingExecutor executor;
  executor.AnswerWithShapes({{4, 7, 80}, {4, 1}});
  EXPECT_TRUE(WarmUp(executor, Config(kTwoInputs), ModelDir("any_length")).ok());
}

TEST(WarmUpTest, OutputRankDifferentFromConfigIsInvalidArgument) {
  RecordingExecutor executor;
  executor.AnswerWithShapes({{4, 128}, {4, 128}});
  ExpectError(WarmUp(executor, Config(kTwoInputs), ModelDir("rank")),
              absl::StatusCode::kInvalidArgument,
              {"output 'MEL'", "[-1, 80]", "model's output [128]", "batch dimension excluded"});
}

TEST(WarmUpTest, OutputFixedDimDifferentFromConfigIsInvalidArgument) {
  RecordingExecutor executor;
  executor.AnswerWithShapes({{4, 128, 80}, {4, 128, 2}});
  ExpectError(WarmUp(executor, Config(kTwoInputs), ModelDir("fixed_dim")),
              absl::StatusCode::kInvalidArgument, {"output 'LENGTHS'", "[-1]", "[128, 2]"});

  RecordingExecutor wrong_width;
  wrong_width.AnswerWithShapes({{4, 128, 81}, {4, 128}});
  ExpectError(WarmUp(wrong_width, Config(kTwoInputs), ModelDir("fixed_dim")),
              absl::StatusCode::kInvalidArgument, {"output 'MEL'", "[-1, 80]", "[128, 81]"});
}

TEST(WarmUpTest, OutputCountDifferentFromConfigIsInvalidArgument) {
  RecordingExecutor executor;
  executor.AnswerWithShapes({{4, 128, 80}});
  ExpectError(WarmUp(executor, Config(kTwoInputs), ModelDir("count")),
              absl::StatusCode::kInvalidArgument, {"returned 1 outputs", "lists 2"});
}

TEST(WarmUpTest, OutputTypeDifferentFromConfigIsInvalidArgument) {
  inference::ModelConfig config = Config(kTwoInputs);
  config.mutable_output(1)->set_data_type(inference::TYPE_INT32);
  RecordingExecutor executor;
  executor.AnswerWithShapes({{4, 128, 80}, {4, 128}});
  ExpectError(WarmUp(executor, config, ModelDir("type")), absl::StatusCode::kInvalidArgument,
              {"output 'LENGTHS'", "TYPE_INT32", "TYPE_INT64"});
}

TEST(WarmUpTest, OutputCheckKeepsTheFirstDimWithoutBatchDimension) {
  const inference::ModelConfig config = Config(R"(
    max_batch_size: 0
    input { name: "INPUT0" data_type: TYPE_FP32 dims: [ 3 ] }
    output { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 3 ] }
  )");
  RecordingExecutor executor;
  executor.AnswerWithShapes({{1, 3}});
  ExpectError(WarmUp(executor, config, ModelDir("unbatched_output")),
              absl::StatusCode::kInvalidArgument, {"output 'OUTPUT0'", "[3]", "[1, 3]"});
}

}  // namespace
}  // namespace speech
