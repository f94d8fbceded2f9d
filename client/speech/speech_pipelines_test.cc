#include "client/speech/speech_pipelines.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/bytes_elements.h"
#include "proto/grpc_service.pb.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T>
std::string Raw(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

void AddOutput(inference::ModelInferResponse* response, const std::string& name,
               const std::string& datatype, std::vector<int64_t> shape, std::string raw) {
  auto* output = response->add_outputs();
  output->set_name(name);
  output->set_datatype(datatype);
  for (int64_t dim : shape) output->add_shape(dim);
  response->add_raw_output_contents(std::move(raw));
}

TEST(TtsTest, SendsOneSentenceAndAsksForTheMelOnlyWhenWanted) {
  const inference::ModelInferRequest request =
      MakeTtsRequest("tts", "2", "Turn left at the next corner.", /*want_mel=*/true);
  EXPECT_EQ(request.model_name(), "tts");
  EXPECT_EQ(request.model_version(), "2");
  ASSERT_EQ(request.inputs_size(), 1);
  EXPECT_EQ(request.inputs(0).name(), "TEXT");
  EXPECT_EQ(request.inputs(0).datatype(), "BYTES");
  EXPECT_THAT(request.inputs(0).shape(), ElementsAre(1, 1));
  EXPECT_EQ(request.raw_input_contents(0),
            PackBytesElements(std::vector<std::string>{"Turn left at the next corner."}));
  ASSERT_EQ(request.outputs_size(), 2);
  EXPECT_EQ(request.outputs(0).name(), "AUDIO");
  EXPECT_EQ(request.outputs(1).name(), "MEL");
  EXPECT_EQ(MakeTtsRequest("tts", "", "x", false).outputs_size(), 1);
}

TEST(TtsTest, ReadsAudioAndMel) {
  inference::ModelInferResponse response;
  response.set_model_name("tts");
  AddOutput(&response, "MEL", "FP32", {1, 2, 3}, Raw(std::vector<float>{1, 2, 3, 4, 5, 6}));
  AddOutput(&response, "AUDIO", "FP32", {1, 4}, Raw(std::vector<float>{0.5f, -0.5f, 0, 1}));
  absl::StatusOr<TtsReply> reply = ReadTtsReply(response, /*want_mel=*/true);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_THAT(reply->audio, ElementsAre(0.5f, -0.5f, 0, 1));
  EXPECT_EQ(reply->mel_channels, 2);
  EXPECT_EQ(reply->mel_frames, 3);
  EXPECT_THAT(reply->mel, ElementsAre(1, 2, 3, 4, 5, 6));
  EXPECT_TRUE(ReadTtsReply(response, false)->mel.empty());
}

TEST(TtsTest, RefusesRepliesOfTheWrongShape) {
  inference::ModelInferResponse response;
  response.set_model_name("tts");
  AddOutput(&response, "AUDIO", "FP32", {2, 2}, Raw(std::vector<float>{0, 0, 0, 0}));
  EXPECT_THAT(ReadTtsReply(response, false).status().message(),
              HasSubstr("output AUDIO has shape [2, 2]; expected [1, samples]"));
  response.Clear();
  response.set_model_name("tts");
  AddOutput(&response, "AUDIO", "FP32", {4}, Raw(std::vector<float>{0, 0, 0, 0}));
  EXPECT_TRUE(ReadTtsReply(response, false).ok());
  EXPECT_THAT(ReadTtsReply(response, true).status().message(),
              HasSubstr("the reply of model \"tts\" has no output MEL"));
  AddOutput(&response, "MEL", "FP16", {1, 1, 1}, std::string(2, '\0'));
  EXPECT_THAT(ReadTtsReply(response, true).status().message(),
              HasSubstr("output MEL is FP16; expected FP32"));
}

TEST(AsrTest, SendsSamplesAndReadsTheTranscript) {
  const std::vector<float> samples = {0.25f, -0.25f, 0.5f};
  const inference::ModelInferRequest request = MakeAsrRequest("asr", "", samples);
  ASSERT_EQ(request.inputs_size(), 1);
  EXPECT_EQ(request.inputs(0).name(), "AUDIO");
  EXPECT_EQ(request.inputs(0).datatype(), "FP32");
  EXPECT_THAT(request.inputs(0).shape(), ElementsAre(1, 3));
  EXPECT_EQ(request.raw_input_contents(0), Raw(samples));
  ASSERT_EQ(request.outputs_size(), 1);
  EXPECT_EQ(request.outputs(0).name(), "TRANSCRIPT");

  inference::ModelInferResponse response;
  AddOutput(&response, "TRANSCRIPT", "BYTES", {1, 1},
            PackBytesElements(std::vector<std::string>{"turn left"}));
  EXPECT_EQ(ReadTranscript(response).value(), "turn left");
  response.Clear();
  AddOutput(&response, "TRANSCRIPT", "BYTES", {1, 2},
            PackBytesElements(std::vector<std::string>{"a", "b"}));
  EXPECT_THAT(ReadTranscript(response).status().message(), HasSubstr("holds 2 elements"));
}

TEST(AsrTest, ChecksTheAudioAUserGives) {
  WavAudio audio;
  audio.sample_rate = 16000;
  audio.channels = 1;
  audio.samples = {0.1f};
  EXPECT_TRUE(CheckAsrAudio(audio, "a.wav", 16000).ok());
  audio.sample_rate = 44100;
  const absl::Status rate = CheckAsrAudio(audio, "b.wav", 16000);
  EXPECT_EQ(rate.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(rate.message(), HasSubstr("b.wav: 44100 Hz; asr takes 16000 Hz"));
  audio.sample_rate = 16000;
  audio.channels = 2;
  audio.samples = {0.1f, 0.2f};
  EXPECT_THAT(CheckAsrAudio(audio, "c.wav", 16000).message(),
              HasSubstr("c.wav: 2 channels; asr takes mono"));
  audio.channels = 1;
  audio.samples.clear();
  EXPECT_THAT(CheckAsrAudio(audio, "d.wav", 16000).message(), HasSubstr("d.wav: no samples"));
}

TEST(SanitizeAudioTest, ZeroesNonFiniteSamplesAndCountsTheClipped) {
  std::vector<float> samples = {0.5f, 1.5f, -2.0f, std::nanf(""), INFINITY, -1.0f, 1.0f};
  EXPECT_EQ(SanitizeAudio(&samples), 4);
  EXPECT_EQ(samples[3], 0.0f);
  EXPECT_EQ(samples[4], 0.0f);
  EXPECT_EQ(samples[1], 1.5f);
}

}  // namespace
}  // namespace speech
