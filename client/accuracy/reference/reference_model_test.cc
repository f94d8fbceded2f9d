#include "client/accuracy/reference/reference_model.h"

#include <google/protobuf/text_format.h>
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

// Compiles a module whose methods are `source` and saves it under the test's temporary directory.
std::string SaveModule(const std::string& file, const std::string& source) {
  torch::jit::Module module("m");
  module.define(source);
  const std::string path = absl::StrCat(::testing::TempDir(), "/", file);
  module.save(path);
  return path;
}

inference::ModelConfig Config(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

template <typename T>
HostTensor Tensor(const std::string& name, const std::string& datatype, std::vector<int64_t> shape,
                  const std::vector<T>& values) {
  HostTensor tensor;
  tensor.name = name;
  tensor.datatype = datatype;
  tensor.shape = std::move(shape);
  tensor.bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return tensor;
}

std::unique_ptr<ReferenceModel> MustCreate(const std::string& path, const std::string& config) {
  absl::StatusOr<std::unique_ptr<ReferenceModel>> model =
      ReferenceModel::Create({path, Config(config), "cpu"});
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? *std::move(model) : nullptr;
}

// A padded-input model like wav2vec2: AUDIO [-1] with a server-filled AUDIO_LENGTHS, returning
// per-row sums of the real samples, scaled audio and the lengths; FRAMES has a reshape.
constexpr char kLengthsConfig[] = R"(
  max_batch_size: 8
  input { name: "AUDIO" data_type: TYPE_FP32 dims: [ -1 ] ragged_padding { pad_value: 0 } }
  batch_input { kind: BATCH_ELEMENT_COUNT target_name: "AUDIO_LENGTHS" data_type: TYPE_INT64
                source_input: "AUDIO" }
  output { name: "SCALED" data_type: TYPE_FP32 dims: [ -1 ] }
  output { name: "FRAMES" data_type: TYPE_INT64 dims: [ 1 ] reshape { shape: [ ] } }
  batch_output { kind: BATCH_SCATTER_WITH_OUTPUT_LENGTHS target_name: "SCALED"
                 source_output: "FRAMES" }
)";

TEST(ReferenceModelTest, PassesElementCountsAfterTheInputsAndAppliesReshape) {
  const std::string path = SaveModule("lengths.pt", R"(
def forward(self, audio, lengths):
    return audio * 2.0, lengths.view(-1) * 10
)");
  std::unique_ptr<ReferenceModel> model = MustCreate(path, kLengthsConfig);
  ASSERT_NE(model, nullptr);
  absl::StatusOr<std::vector<HostTensor>> outputs =
      model->Run({Tensor<float>("AUDIO", "FP32", {1, 3}, {1, 2, 3})});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 2u);
  EXPECT_EQ((*outputs)[0].name, "SCALED");
  EXPECT_EQ((*outputs)[0].datatype, "FP32");
  EXPECT_EQ((*outputs)[0].shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(AsVector<float>((*outputs)[0]), (std::vector<float>{2, 4, 6}));
  EXPECT_EQ((*outputs)[1].name, "FRAMES");
  EXPECT_EQ((*outputs)[1].datatype, "INT64");
  // The model returns [1]; the client sees dims [1] under the batch dimension.
  EXPECT_EQ((*outputs)[1].shape, (std::vector<int64_t>{1, 1}));
  EXPECT_EQ(AsVector<int64_t>((*outputs)[1]), (std::vector<int64_t>{30}));
}

TEST(ReferenceModelTest, PassesItemShapesAsInt32AndTakesInputsByName) {
  const std::string path = SaveModule("shapes.pt", R"(
def forward(self, a, b, a_shape, count):
    return [a_shape, count, (a.sum() + b.sum()).view(1, 1)]
)");
  std::unique_ptr<ReferenceModel> model = MustCreate(path, R"(
    max_batch_size: 4
    input { name: "A" data_type: TYPE_FP32 dims: [ -1, 3 ] }
    input { name: "B" data_type: TYPE_INT64 dims: [ 2 ] }
    batch_input { kind: BATCH_ITEM_SHAPE target_name: "A_SHAPE" data_type: TYPE_INT32
                  source_input: "A" }
    batch_input { kind: BATCH_ELEMENT_COUNT target_name: "COUNT" data_type: TYPE_INT32
                  source_input: "A" }
    output { name: "SHAPE" data_type: TYPE_INT32 dims: [ 2 ] }
    output { name: "COUNT_OUT" data_type: TYPE_INT32 dims: [ 1 ] }
    output { name: "SUM" data_type: TYPE_FP32 dims: [ 1 ] }
  )");
  ASSERT_NE(model, nullptr);
  // B first: inputs are found by name.
  absl::StatusOr<std::vector<HostTensor>> outputs =
      model->Run({Tensor<int64_t>("B", "INT64", {1, 2}, {5, 6}),
                  Tensor<float>("A", "FP32", {1, 4, 3}, std::vector<float>(12, 0.5f))});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ((*outputs)[0].datatype, "INT32");
  EXPECT_EQ(AsVector<int32_t>((*outputs)[0]), (std::vector<int32_t>{4, 3}));
  EXPECT_EQ(AsVector<int32_t>((*outputs)[1]), (std::vector<int32_t>{12}));
  EXPECT_EQ(AsVector<float>((*outputs)[2]), (std::vector<float>{17}));
}

TEST(ReferenceModelTest, ModelsWithoutABatchDimensionTakeShapesAsTheyAre) {
  const std::string path = SaveModule("plain.pt", R"(
def forward(self, x):
    return (x + 1,)
)");
  std::unique_ptr<ReferenceModel> model = MustCreate(path, R"(
    input { name: "X" data_type: TYPE_INT32 dims: [ 2, 2 ] }
    output { name: "Y" data_type: TYPE_INT32 dims: [ 4 ] reshape { shape: [ 2, 2 ] } }
  )");
  ASSERT_NE(model, nullptr);
  absl::StatusOr<std::vector<HostTensor>> outputs =
      model->Run({Tensor<int32_t>("X", "INT32", {2, 2}, {1, 2, 3, 4})});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ((*outputs)[0].shape, (std::vector<int64_t>{4}));
  EXPECT_EQ(AsVector<int32_t>((*outputs)[0]), (std::vector<int32_t>{2, 3, 4, 5}));
}

TEST(ReferenceModelTest, RefusesWhatItCannotRun) {
  const std::string path = SaveModule("one_input.pt", R"(
def forward(self, x):
    return x
)");
  EXPECT_EQ(
      ReferenceModel::Create({"/no/such/model.pt", Config(kLengthsConfig), "cpu"}).status().code(),
      absl::StatusCode::kNotFound);
  absl::StatusOr<std::unique_ptr<ReferenceModel>> model =
      ReferenceModel::Create({path, Config(kLengthsConfig), "cpu"});
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()),
              HasSubstr("forward() takes 1 inputs but the configuration has 1 inputs and 1 "
                        "batch inputs"));
  model = ReferenceModel::Create({path, Config(R"(
    max_batch_size: 2
    input { name: "X" data_type: TYPE_FP32 dims: [ -1 ] }
    batch_input { kind: BATCH_MAX_ELEMENT_COUNT_AS_SHAPE target_name: "M" data_type: TYPE_INT64
                  source_input: "X" }
    output { name: "Y" data_type: TYPE_FP32 dims: [ -1 ] }
  )"),
                                  "cpu"});
  EXPECT_EQ(model.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(model.status().message()),
              HasSubstr("only BATCH_ELEMENT_COUNT and BATCH_ITEM_SHAPE"));
  const std::string garbage = absl::StrCat(::testing::TempDir(), "/garbage.pt");
  std::FILE* file = std::fopen(garbage.c_str(), "w");
  std::fputs("not a zip", file);
  std::fclose(file);
  EXPECT_EQ(ReferenceModel::Create({garbage, Config(kLengthsConfig), "cpu"}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ReferenceModelTest, BadInputsAndOutputsAreErrors) {
  constexpr char kConfig[] = R"(
    max_batch_size: 2
    input { name: "X" data_type: TYPE_FP32 dims: [ -1 ] }
    output { name: "Y" data_type: TYPE_FP32 dims: [ -1 ] }
  )";
  std::unique_ptr<ReferenceModel> identity =
      MustCreate(SaveModule("identity.pt", "def forward(self, x):\n    return x\n"), kConfig);
  ASSERT_NE(identity, nullptr);
  absl::StatusOr<std::vector<HostTensor>> outputs =
      identity->Run({Tensor<float>("Z", "FP32", {1, 1}, {1})});
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(outputs.status().message()), HasSubstr("input 'X' is missing"));
  outputs = identity->Run({Tensor<int32_t>("X", "INT32", {1, 1}, {1})});
  EXPECT_THAT(std::string(outputs.status().message()),
              HasSubstr("input 'X' is INT32; the model takes FP32"));
  outputs = identity->Run({Tensor<float>("X", "FP32", {1, 2}, {1})});
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInvalidArgument);

  std::unique_ptr<ReferenceModel> doubles = MustCreate(
      SaveModule("double.pt", "def forward(self, x):\n    return x.double()\n"), kConfig);
  outputs = doubles->Run({Tensor<float>("X", "FP32", {1, 1}, {1})});
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(outputs.status().message()),
              HasSubstr("output 'Y' as Double; the configuration says TYPE_FP32"));

  std::unique_ptr<ReferenceModel> two =
      MustCreate(SaveModule("two.pt", "def forward(self, x):\n    return x, x\n"), kConfig);
  outputs = two->Run({Tensor<float>("X", "FP32", {1, 1}, {1})});
  EXPECT_THAT(std::string(outputs.status().message()),
              HasSubstr("forward() returned 2 tensors; the configuration lists 1 outputs"));

  std::unique_ptr<ReferenceModel> number =
      MustCreate(SaveModule("number.pt", "def forward(self, x):\n    return 3\n"), kConfig);
  outputs = number->Run({Tensor<float>("X", "FP32", {1, 1}, {1})});
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(outputs.status().message()), HasSubstr("expected tensors"));

  std::unique_ptr<ReferenceModel> rows =
      MustCreate(SaveModule("rows.pt", "def forward(self, x):\n    return x.view(-1)\n"), kConfig);
  outputs = rows->Run({Tensor<float>("X", "FP32", {1, 2}, {1, 2})});
  EXPECT_THAT(std::string(outputs.status().message()),
              HasSubstr("expected 1 rows along the batch dimension"));

  std::unique_ptr<ReferenceModel> throws = MustCreate(
      SaveModule("throws.pt", "def forward(self, x):\n    return x.view(3, 5)\n"), kConfig);
  outputs = throws->Run({Tensor<float>("X", "FP32", {1, 2}, {1, 2})});
  EXPECT_EQ(outputs.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(outputs.status().message()), HasSubstr("forward() failed"));
}

}  // namespace
}  // namespace speech
