#include "client/infer_inputs.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

inference::ModelMetadataResponse SpeechMetadata() {
  inference::ModelMetadataResponse metadata;
  metadata.set_name("asr");
  auto* audio = metadata.add_inputs();
  audio->set_name("AUDIO");
  audio->set_datatype("FP32");
  for (int64_t dim : {-1, 80, -1}) audio->add_shape(dim);
  auto* lengths = metadata.add_inputs();
  lengths->set_name("LENGTHS");
  lengths->set_datatype("INT64");
  for (int64_t dim : {-1, 1}) lengths->add_shape(dim);
  return metadata;
}

TEST(InferInputsTest, ResolveShapeFillsBatchAndVariableDimensions) {
  EXPECT_THAT(ResolveShape({-1, 80, -1}, true, 4, 100), ElementsAre(4, 80, 100));
  EXPECT_THAT(ResolveShape({-1, 80, -1}, false, 4, 100), ElementsAre(100, 80, 100));
  EXPECT_THAT(ResolveShape({-1}, false, 4, 100), ElementsAre(100));
  EXPECT_THAT(ResolveShape({}, true, 4, 100), ElementsAre());
}

TEST(InferInputsTest, BuildsGeneratedInputsFromMetadata) {
  InputSpec spec;
  spec.batch_size = 2;
  spec.length = 10;
  spec.int_low = 5;
  spec.int_high = 6;
  absl::StatusOr<std::vector<HostTensor>> inputs = BuildInputs(SpeechMetadata(), spec);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_EQ(inputs->size(), 2);
  EXPECT_EQ((*inputs)[0].name, "AUDIO");
  EXPECT_THAT((*inputs)[0].shape, ElementsAre(2, 80, 10));
  EXPECT_EQ((*inputs)[0].bytes.size(), 2 * 80 * 10 * 4);
  EXPECT_THAT((*inputs)[1].shape, ElementsAre(2, 1));
  EXPECT_THAT(AsVector<int64_t>((*inputs)[1]), ElementsAre(5, 5));
}

TEST(InferInputsTest, ModelBatchesDecidesTheLeadingDimension) {
  inference::ModelMetadataResponse metadata;
  auto* audio = metadata.add_inputs();
  audio->set_name("AUDIO");
  audio->set_datatype("FP16");
  audio->add_shape(-1);
  InputSpec spec;
  spec.batch_size = 3;
  spec.length = 16;
  EXPECT_THAT(BuildInputs(metadata, spec).value()[0].shape, ElementsAre(16));  // guessed
  spec.model_batches = true;
  EXPECT_THAT(BuildInputs(metadata, spec).value()[0].shape, ElementsAre(3));
  spec.model_batches = false;
  audio->add_shape(-1);
  EXPECT_THAT(BuildInputs(metadata, spec).value()[0].shape, ElementsAre(16, 16));
}

TEST(InferInputsTest, ShapeOverridesAndFiles) {
  const std::string path = absl::StrCat(testing::TempDir(), "/audio.bin");
  std::FILE* file = std::fopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  const std::vector<float> frames(80 * 7, 0.25f);
  std::fwrite(frames.data(), sizeof(float), frames.size(), file);
  std::fclose(file);

  InputSpec spec;
  spec.files["AUDIO"] = path;
  spec.shapes["LENGTHS"] = {1, -1};
  spec.length = 3;
  absl::StatusOr<std::vector<HostTensor>> inputs = BuildInputs(SpeechMetadata(), spec);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  EXPECT_THAT((*inputs)[0].shape, ElementsAre(1, 80, 7));  // 7 frames from the file size
  EXPECT_EQ((*inputs)[0].bytes.size(), frames.size() * sizeof(float));
  EXPECT_THAT((*inputs)[1].shape, ElementsAre(1, 3));

  spec.shapes["AUDIO"] = {1, 80, 8};
  EXPECT_THAT(BuildInputs(SpeechMetadata(), spec).status().message(),
              HasSubstr("expected 2560 bytes, got 2240"));
}

TEST(InferInputsTest, RejectsUnknownNamesAndBadSizes) {
  InputSpec spec;
  spec.shapes["VIDEO"] = {1};
  EXPECT_THAT(BuildInputs(SpeechMetadata(), spec).status().message(),
              HasSubstr("--shape names input \"VIDEO\" but model asr has inputs [AUDIO, LENGTHS]"));
  spec.shapes.clear();
  spec.batch_size = 0;
  EXPECT_FALSE(BuildInputs(SpeechMetadata(), spec).ok());
}

TEST(InferInputsTest, ParsesFlagValues) {
  EXPECT_EQ(SplitNamedValue("A:x:y").value(), std::make_pair(std::string("A"), std::string("x:y")));
  EXPECT_FALSE(SplitNamedValue(":x").ok());
  EXPECT_FALSE(SplitNamedValue("x").ok());
  EXPECT_THAT(ParseDims("1,80,-1").value(), ElementsAre(1, 80, -1));
  EXPECT_THAT(ParseDims("").value(), ElementsAre());
  EXPECT_FALSE(ParseDims("1,,2").ok());
  EXPECT_FALSE(ParseDims("-2").ok());
  EXPECT_EQ(ParseIntRange("-5,5").value(), std::make_pair(int64_t{-5}, int64_t{5}));
  EXPECT_FALSE(ParseIntRange("5,5").ok());
  EXPECT_FALSE(ParseIntRange("1").ok());
}

}  // namespace
}  // namespace speech
