#include "client/perf/inputs/json/json_input_data.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A model with a batching FP32 AUDIO [-1, -1] input and, when `with_speaker`, an INT32 SPEAKER
// [-1, 1] input.
inference::ModelMetadataResponse Metadata(bool with_speaker) {
  inference::ModelMetadataResponse metadata;
  metadata.set_name("asr");
  auto* audio = metadata.add_inputs();
  audio->set_name("AUDIO");
  audio->set_datatype("FP32");
  audio->add_shape(-1);
  audio->add_shape(-1);
  if (with_speaker) {
    auto* speaker = metadata.add_inputs();
    speaker->set_name("SPEAKER");
    speaker->set_datatype("INT32");
    speaker->add_shape(-1);
    speaker->add_shape(1);
  }
  return metadata;
}

JsonInputOptions Batching() {
  JsonInputOptions options;
  options.model_batches = true;
  return options;
}

std::string Error(const std::string& json, bool with_speaker = true) {
  absl::StatusOr<std::vector<InputSample>> samples =
      ParseJsonInputData(json, Metadata(with_speaker), Batching(), "in.json");
  EXPECT_FALSE(samples.ok()) << json;
  EXPECT_EQ(samples.status().code(), absl::StatusCode::kInvalidArgument) << json;
  EXPECT_THAT(samples.status().message(), HasSubstr("in.json: ")) << json;
  return std::string(samples.status().message());
}

TEST(ParseJsonInputDataTest, OneSamplePerEntryWithItsOwnShapes) {
  absl::StatusOr<std::vector<InputSample>> samples = ParseJsonInputData(
      R"({"data": [
            {"AUDIO": [0.5, 0.25, 0], "SPEAKER": [3]},
            {"AUDIO": {"content": [1, 2, 3, 4, 5], "shape": [5]}, "SPEAKER": {"content": [4]}},
            {"AUDIO": {"b64": "AACAPw==", "shape": [1]}, "SPEAKER": [5]}
          ],
          "validation_data": []})",
      Metadata(true), Batching(), "in.json");
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 3u);
  EXPECT_EQ((*samples)[1].source, "entry 1");
  ASSERT_EQ((*samples)[0].tensors.size(), 2u);
  EXPECT_EQ((*samples)[0].tensors[0].name, "AUDIO");
  EXPECT_THAT((*samples)[0].tensors[0].shape, ElementsAre(3));
  EXPECT_THAT((*samples)[0].tensors[1].shape, ElementsAre(1));
  EXPECT_THAT((*samples)[1].tensors[0].shape, ElementsAre(5));
  EXPECT_THAT(AsVector<int32_t>((*samples)[1].tensors[1]), ElementsAre(4));
  EXPECT_THAT(AsVector<float>((*samples)[2].tensors[0]), ElementsAre(1.0f));
}

TEST(ParseJsonInputDataTest, ShapeFlagDecidesWhatABareArrayIs) {
  inference::ModelMetadataResponse metadata;
  metadata.set_name("m");
  auto* input = metadata.add_inputs();
  input->set_name("MEL");
  input->set_datatype("FP32");
  for (int64_t dim : {-1, -1, -1}) input->add_shape(dim);
  const std::string json = R"({"data": [{"MEL": [1, 2, 3, 4, 5, 6]}]})";
  JsonInputOptions options = Batching();
  EXPECT_THAT(ParseJsonInputData(json, metadata, options, "f").status().message(),
              HasSubstr("entry 0: input \"MEL\" (FP32): shape [-1, -1] has 2 variable"));
  options.shapes["MEL"] = {2, -1};
  absl::StatusOr<std::vector<InputSample>> samples =
      ParseJsonInputData(json, metadata, options, "f");
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_THAT((*samples)[0].tensors[0].shape, ElementsAre(2, 3));
}

TEST(ParseJsonInputDataTest, ErrorsNameTheEntryTheInputAndTheProblem) {
  EXPECT_THAT(Error(R"({"data": [{"AUDIO": [1], "SPEAKER": [1]}, {"AUDIO": [1]}]})"),
              HasSubstr("entry 1: missing input \"SPEAKER\" (model asr has inputs [AUDIO, "
                        "SPEAKER])"));
  EXPECT_THAT(Error(R"({"data": [{"AUDIO": [1], "SPEAKER": [1], "TEXT": ["x"]}]})"),
              HasSubstr("entry 0: unknown input \"TEXT\"; model asr has inputs [AUDIO, SPEAKER]"));
  EXPECT_THAT(Error(R"({"data": [{"AUDIO": [1], "SPEAKER": [1, 2]}]})"),
              HasSubstr("entry 0: input \"SPEAKER\" (INT32): shape [1] needs 1 values; got 2"));
  EXPECT_THAT(Error(R"({"data": [{"AUDIO": [1], "SPEAKER": [3000000000]}]})"),
              HasSubstr("entry 0: input \"SPEAKER\" (INT32): value 0 (3000000000) is out of "
                        "range for INT32"));
  EXPECT_THAT(Error(R"({"data": [{"AUDIO": {"b64": "@@"}, "SPEAKER": [1]}]})"),
              HasSubstr("entry 0: input \"AUDIO\" (FP32): \"b64\" is not a base64 string"));
  EXPECT_THAT(Error(R"({"data": [[{"AUDIO": [1]}]]})"),
              HasSubstr("entry 0: expected an object of inputs; got an array (a sequence stream"));
  EXPECT_THAT(Error(R"({"data": [3]})"),
              HasSubstr("entry 0: expected an object of inputs; got number"));
}

TEST(ParseJsonInputDataTest, DocumentErrors) {
  EXPECT_THAT(Error("{\"data\": [", false), HasSubstr("not valid JSON"));
  EXPECT_THAT(Error("", false), HasSubstr("not valid JSON"));
  EXPECT_THAT(Error("[]", false), HasSubstr("\"data\" member is an array"));
  EXPECT_THAT(Error(R"({"inputs": []})", false), HasSubstr("\"data\" member is an array"));
  EXPECT_THAT(Error(R"({"data": {}})", false), HasSubstr("\"data\" member is an array"));
  EXPECT_THAT(Error(R"({"data": []})", false), HasSubstr("\"data\" has no entries"));
}

TEST(ReadJsonInputDataTest, ReadsAFileAndNamesAMissingOne) {
  const std::string path =
      (std::filesystem::path(std::getenv("TEST_TMPDIR")) / "ids.json").string();
  std::ofstream(path) << R"({"data": [{"AUDIO": [1, 2]}, {"AUDIO": [3]}]})";
  absl::StatusOr<std::vector<InputSample>> samples =
      ReadJsonInputData(path, Metadata(false), Batching());
  ASSERT_TRUE(samples.ok()) << samples.status();
  EXPECT_EQ(samples->size(), 2u);
  std::ofstream(path) << R"({"data": [{"AUDIO": ["x"]}]})";
  EXPECT_THAT(
      ReadJsonInputData(path, Metadata(false), Batching()).status().message(),
      HasSubstr(path + ": entry 0: input \"AUDIO\" (FP32): value 0 (\"x\") is not a number"));
  EXPECT_EQ(ReadJsonInputData(path + ".missing", Metadata(false), Batching()).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace speech
