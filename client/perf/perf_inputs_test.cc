#include "client/perf/perf_inputs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "gtest/gtest.h"

namespace speech {
namespace {

inference::ModelMetadataResponse Metadata(const std::string& name, const std::string& datatype,
                                          bool batched) {
  inference::ModelMetadataResponse metadata;
  metadata.set_name("m");
  auto* input = metadata.add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  if (batched) input->add_shape(-1);
  input->add_shape(-1);
  return metadata;
}

TEST(BuildPerfRequestsTest, ShapeExcludesTheBatchDimension) {
  PerfInputOptions options;
  options.model = "identity";
  options.model_batches = true;
  options.batch_size = 4;
  options.sample_count = 2;
  options.shapes["INPUT0"] = {256};
  auto requests = BuildPerfRequests(Metadata("INPUT0", "FP32", true), options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 2u);
  const auto& request = (*requests)[0];
  EXPECT_EQ(request.model_name(), "identity");
  ASSERT_EQ(request.inputs(0).shape_size(), 2);
  EXPECT_EQ(request.inputs(0).shape(0), 4);
  EXPECT_EQ(request.inputs(0).shape(1), 256);
  EXPECT_EQ(request.raw_input_contents(0).size(), 4u * 256 * 4);
  EXPECT_NE(request.raw_input_contents(0), (*requests)[1].raw_input_contents(0));
}

TEST(BuildPerfRequestsTest, LengthRangeVariesLengthsWithinBounds) {
  PerfInputOptions options;
  options.model_batches = true;
  options.length_range = std::make_pair(int64_t{10}, int64_t{20});
  options.sample_count = 50;
  options.fill_mode = FillMode::kZeros;
  auto requests = BuildPerfRequests(Metadata("INPUT__0", "INT64", true), options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  std::set<int64_t> lengths;
  for (const auto& request : *requests) {
    const int64_t length = request.inputs(0).shape(1);
    EXPECT_GE(length, 10);
    EXPECT_LE(length, 20);
    lengths.insert(length);
    EXPECT_EQ(request.raw_input_contents(0), std::string(length * 8, '\0'));
  }
  EXPECT_GT(lengths.size(), 3u);
}

TEST(BuildPerfRequestsTest, DirectoryOfSamplesIsReplayedInOrder) {
  const std::filesystem::path dir =
      std::filesystem::path(std::getenv("TEST_TMPDIR")) / "perf_inputs";
  for (int i = 0; i < 2; ++i) {
    std::filesystem::create_directories(dir / ("s" + std::to_string(i)));
    std::ofstream(dir / ("s" + std::to_string(i)) / "AUDIO", std::ios::binary)
        << std::string(4 * (i + 3), 'a' + i);
  }
  PerfInputOptions options;
  options.model_batches = true;
  options.input_data_dir = dir.string();
  auto requests = BuildPerfRequests(Metadata("AUDIO", "FP32", true), options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 2u);
  EXPECT_EQ((*requests)[0].inputs(0).shape(1), 3);
  EXPECT_EQ((*requests)[1].inputs(0).shape(1), 4);
  EXPECT_EQ((*requests)[1].raw_input_contents(0), std::string(16, 'b'));

  options.input_data_dir = (dir / "s0").string();  // one file per input: one request
  requests = BuildPerfRequests(Metadata("AUDIO", "FP32", true), options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  EXPECT_EQ(requests->size(), 1u);

  options.input_data_dir = (dir / "missing").string();
  EXPECT_EQ(BuildPerfRequests(Metadata("AUDIO", "FP32", true), options).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(BuildPerfRequestsTest, RejectsBadOptions) {
  PerfInputOptions options;
  options.batch_size = 2;  // model does not batch
  EXPECT_FALSE(BuildPerfRequests(Metadata("X", "FP32", false), options).ok());
  options = PerfInputOptions();
  options.shapes["Y"] = {3};  // no such input
  EXPECT_FALSE(BuildPerfRequests(Metadata("X", "FP32", false), options).ok());
  options = PerfInputOptions();
  options.length_range = std::make_pair(int64_t{5}, int64_t{4});
  EXPECT_FALSE(BuildPerfRequests(Metadata("X", "FP32", false), options).ok());
}

}  // namespace
}  // namespace speech
