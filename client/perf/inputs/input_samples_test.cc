#include "client/perf/inputs/input_samples.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

inference::ModelMetadataResponse::TensorMetadata Input(const std::string& name,
                                                       std::vector<int64_t> shape) {
  inference::ModelMetadataResponse::TensorMetadata input;
  input.set_name(name);
  input.set_datatype("FP32");
  for (int64_t dim : shape) input.add_shape(dim);
  return input;
}

InputSample Sample(const std::string& source, std::vector<int64_t> shape, char fill) {
  HostTensor tensor;
  tensor.name = "AUDIO";
  tensor.datatype = "INT8";
  tensor.shape = shape;
  tensor.bytes = std::string(ElementCount(shape), fill);
  return InputSample{source, {tensor}};
}

TEST(ConfiguredShapeTest, ShapeFlagElseMetadataLessTheBatchDimension) {
  EXPECT_THAT(ConfiguredShape(Input("A", {-1, -1}), true, {}), ElementsAre(-1));
  EXPECT_THAT(ConfiguredShape(Input("A", {-1, 80, -1}), true, {}), ElementsAre(80, -1));
  EXPECT_THAT(ConfiguredShape(Input("A", {-1}), false, {}), ElementsAre(-1));
  EXPECT_THAT(ConfiguredShape(Input("A", {-1, -1}), true, {{"A", {3, 4}}}), ElementsAre(3, 4));
  EXPECT_THAT(ConfiguredShape(Input("A", {-1, -1}), true, {{"B", {3}}}), ElementsAre(-1));
}

TEST(ShapeForCountTest, SizesTheOneVariableDimension) {
  EXPECT_THAT(*ShapeForCount({-1}, 16000), ElementsAre(16000));
  EXPECT_THAT(*ShapeForCount({80, -1}, 800), ElementsAre(80, 10));
  EXPECT_THAT(*ShapeForCount({2, 3}, 6), ElementsAre(2, 3));
  EXPECT_THAT(*ShapeForCount({}, 1), ElementsAre());
  EXPECT_THAT(*ShapeForCount({-1}, 0), ElementsAre(0));
}

TEST(ShapeForCountTest, RefusesWhatACountCannotDecide) {
  EXPECT_THAT(ShapeForCount({-1, -1}, 6).status().message(), HasSubstr("2 variable dimensions"));
  EXPECT_THAT(ShapeForCount({2, 3}, 5).status().message(), HasSubstr("needs 6 values; got 5"));
  EXPECT_THAT(ShapeForCount({80, -1}, 801).status().message(), HasSubstr("not a multiple of 80"));
  EXPECT_FALSE(ShapeForCount({0, -1}, 3).ok());
}

TEST(CheckShapeFitsTest, SameRankAndFixedDimensionsAgree) {
  EXPECT_TRUE(CheckShapeFits({80, 7}, {80, -1}).ok());
  EXPECT_TRUE(CheckShapeFits({5}, {-1}).ok());
  EXPECT_THAT(CheckShapeFits({81, 7}, {80, -1}).message(),
              HasSubstr("shape [81, 7] does not fit the model's shape [80, -1]"));
  EXPECT_FALSE(CheckShapeFits({7}, {80, -1}).ok());
  EXPECT_FALSE(CheckShapeFits({-1}, {-1}).ok());
}

TEST(BatchSamplesTest, OneRequestPerSampleWithoutBatchDimension) {
  SampleBatching batching;
  batching.model = "fastpitch";
  auto requests =
      BatchSamples({Sample("entry 0", {3}, 'a'), Sample("entry 1", {5}, 'b')}, batching);
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 2u);
  EXPECT_EQ((*requests)[0].model_name(), "fastpitch");
  EXPECT_THAT((*requests)[0].inputs(0).shape(), ElementsAre(3));
  EXPECT_THAT((*requests)[1].inputs(0).shape(), ElementsAre(5));
  EXPECT_EQ((*requests)[1].raw_input_contents(0), "bbbbb");
  EXPECT_EQ((*requests)[1].inputs(0).datatype(), "INT8");
}

TEST(BatchSamplesTest, BatchesConsecutiveSamplesCycling) {
  SampleBatching batching;
  batching.batch_size = 2;
  batching.model_batches = true;
  const std::vector<InputSample> samples = {Sample("s0", {2}, 'a'), Sample("s1", {2}, 'b'),
                                            Sample("s2", {2}, 'c')};
  auto requests = BatchSamples(samples, batching);
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 3u);
  EXPECT_THAT((*requests)[0].inputs(0).shape(), ElementsAre(2, 2));
  EXPECT_EQ((*requests)[0].raw_input_contents(0), "aabb");
  EXPECT_EQ((*requests)[1].raw_input_contents(0), "ccaa");
  EXPECT_EQ((*requests)[2].raw_input_contents(0), "bbcc");

  batching.batch_size = 1;  // a batching model still gets its batch dimension
  requests = BatchSamples(samples, batching);
  ASSERT_TRUE(requests.ok()) << requests.status();
  EXPECT_THAT((*requests)[0].inputs(0).shape(), ElementsAre(1, 2));
}

TEST(BatchSamplesTest, RefusesRowsOfDifferentShapesAndBadOptions) {
  SampleBatching batching;
  batching.batch_size = 2;
  batching.model_batches = true;
  auto requests =
      BatchSamples({Sample("entry 0", {2}, 'a'), Sample("entry 1", {3}, 'b')}, batching);
  EXPECT_THAT(requests.status().message(),
              HasSubstr("cannot batch entry 0 and entry 1: input \"AUDIO\" has shape [2] and [3]"));
  EXPECT_FALSE(BatchSamples({}, batching).ok());
  batching.model_batches = false;
  EXPECT_THAT(BatchSamples({Sample("s", {1}, 'a')}, batching).status().message(),
              HasSubstr("does not batch"));
  batching.batch_size = 0;
  EXPECT_FALSE(BatchSamples({Sample("s", {1}, 'a')}, batching).ok());
  batching.batch_size = 1;
  InputSample other = Sample("s1", {1}, 'a');
  other.tensors[0].name = "OTHER";
  EXPECT_THAT(BatchSamples({Sample("s0", {1}, 'a'), other}, batching).status().message(),
              HasSubstr("s1 does not hold the same inputs as s0"));
}

}  // namespace
}  // namespace speech
