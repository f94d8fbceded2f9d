#include "client/perf/inputs/perf_inputs.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "client/speech/wav_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

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
  options.length_range = LengthRange{10, 20};
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
  options.input_data = dir.string();
  auto requests = BuildPerfRequests(Metadata("AUDIO", "FP32", true), options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 2u);
  EXPECT_EQ((*requests)[0].inputs(0).shape(1), 3);
  EXPECT_EQ((*requests)[1].inputs(0).shape(1), 4);
  EXPECT_EQ((*requests)[1].raw_input_contents(0), std::string(16, 'b'));

  options.input_data = (dir / "s0").string();  // one file per input: one request
  requests = BuildPerfRequests(Metadata("AUDIO", "FP32", true), options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  EXPECT_EQ(requests->size(), 1u);

  options.input_data = (dir / "missing").string();
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
  options.length_range = LengthRange{5, 4};
  EXPECT_FALSE(BuildPerfRequests(Metadata("X", "FP32", false), options).ok());
}

TEST(BuildPerfRequestsTest, LengthRangeOfAnySizeDrawsPerRequestWithTheSeed) {
  PerfInputOptions options;
  options.model_batches = true;
  options.length_range = LengthRange{16000, 560000};
  options.sample_count = 8;
  options.fill_mode = FillMode::kZeros;
  options.seed = 3;
  auto first = BuildPerfRequests(Metadata("AUDIO", "FP32", true), options);
  auto again = BuildPerfRequests(Metadata("AUDIO", "FP32", true), options);
  ASSERT_TRUE(first.ok()) << first.status();
  std::set<int64_t> lengths;
  for (size_t i = 0; i < first->size(); ++i) {
    const int64_t length = (*first)[i].inputs(0).shape(1);
    EXPECT_GE(length, 16000);
    EXPECT_LE(length, 560000);
    EXPECT_EQ(length, (*again)[i].inputs(0).shape(1));
    lengths.insert(length);
  }
  EXPECT_GT(lengths.size(), 4u);
}

std::filesystem::path TempPath(const std::string& name) {
  return std::filesystem::path(std::getenv("TEST_TMPDIR")) / name;
}

TEST(BuildPerfRequestsTest, JsonInputDataFileOneRequestPerEntry) {
  const std::string path = TempPath("ids.json").string();
  std::ofstream(path) << R"({"data": [{"INPUT__0": [1, 2, 3]}, {"INPUT__0": [147, 5]}]})";
  PerfInputOptions options;
  options.model = "fastpitch";
  options.model_batches = true;
  options.input_data = path;
  auto requests = BuildPerfRequests(Metadata("INPUT__0", "INT64", true), options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 2u);
  EXPECT_EQ((*requests)[0].model_name(), "fastpitch");
  EXPECT_THAT((*requests)[0].inputs(0).shape(), ElementsAre(1, 3));
  EXPECT_THAT((*requests)[1].inputs(0).shape(), ElementsAre(1, 2));

  options.batch_size = 2;  // consecutive entries of different lengths cannot share a request
  EXPECT_THAT(BuildPerfRequests(Metadata("INPUT__0", "INT64", true), options).status().message(),
              HasSubstr("--input-data: " + path + ": cannot batch entry 0 and entry 1"));

  std::ofstream(path) << R"({"data": [{"INPUT__0": [1, 2, 3], "SPEAKER": [1]}]})";
  options.batch_size = 1;
  EXPECT_THAT(BuildPerfRequests(Metadata("INPUT__0", "INT64", true), options).status().message(),
              HasSubstr("--input-data: " + path + ": entry 0: unknown input \"SPEAKER\""));
  options.shapes["NOPE"] = {1};
  EXPECT_THAT(BuildPerfRequests(Metadata("INPUT__0", "INT64", true), options).status().message(),
              HasSubstr("--shape names input \"NOPE\""));
}

TEST(BuildPerfRequestsTest, FolderOfWavFilesOneRequestPerFile) {
  const std::filesystem::path dir = TempPath("wavs");
  std::filesystem::create_directories(dir);
  for (int seconds : {1, 2}) {
    WavAudio audio;
    audio.sample_rate = 16000;
    audio.channels = 1;
    audio.samples.assign(16000 * seconds, 0.25f);
    std::ofstream(dir / ("clip" + std::to_string(seconds) + ".wav"), std::ios::binary)
        << EncodeWav(audio, WavSampleFormat::kPcm16);
  }
  PerfInputOptions options;
  options.model_batches = true;
  options.input_data = dir.string();
  auto requests = BuildPerfRequests(Metadata("AUDIO", "FP32", true), options);
  ASSERT_TRUE(requests.ok()) << requests.status();
  ASSERT_EQ(requests->size(), 2u);
  EXPECT_THAT((*requests)[0].inputs(0).shape(), ElementsAre(1, 16000));
  EXPECT_THAT((*requests)[1].inputs(0).shape(), ElementsAre(1, 32000));
  EXPECT_EQ((*requests)[1].raw_input_contents(0).size(), 32000u * 4);

  options.sample_rate_hz = 8000;
  EXPECT_THAT(BuildPerfRequests(Metadata("AUDIO", "FP32", true), options).status().message(),
              HasSubstr("clip1.wav: sample rate 16000 Hz; the model expects 8000 Hz"));
}

}  // namespace
}  // namespace speech
