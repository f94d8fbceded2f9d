#include "client/perf/inputs/wav_input_data.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "client/speech/wav_file.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

inference::ModelMetadataResponse Metadata(const std::string& datatype = "FP32") {
  inference::ModelMetadataResponse metadata;
  metadata.set_name("wav2vec2");
  auto* input = metadata.add_inputs();
  input->set_name("AUDIO");
  input->set_datatype(datatype);
  input->add_shape(-1);
  input->add_shape(-1);
  return metadata;
}

WavInputOptions Options() {
  WavInputOptions options;
  options.model_batches = true;
  return options;
}

// A fresh folder under the test's temporary directory.
fs::path Folder(const std::string& name) {
  const fs::path dir = fs::path(std::getenv("TEST_TMPDIR")) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteWav(const fs::path& path, int rate, int channels, int frames, WavSampleFormat format) {
  WavAudio audio;
  audio.sample_rate = rate;
  audio.channels = channels;
  for (int i = 0; i < frames * channels; ++i) audio.samples.push_back((i % 8) / 16.0f);
  std::ofstream(path, std::ios::binary) << EncodeWav(audio, format);
}

TEST(ReadWavDirectoryTest, EachFileIsOneSampleInNameOrder) {
  const fs::path dir = Folder("wavs");
  WriteWav(dir / "b.wav", 16000, 1, 32000, WavSampleFormat::kFloat32);
  WriteWav(dir / "a.wav", 16000, 1, 16000, WavSampleFormat::kPcm16);
  WriteWav(dir / "c.WAV", 16000, 1, 5, WavSampleFormat::kPcm16);
  std::ofstream(dir / "notes.txt") << "not audio";
  fs::create_directories(dir / "sub.wav");  // a folder, not a file
  EXPECT_TRUE(HoldsWavFiles(dir.string()));

  absl::StatusOr<std::vector<InputSample>> samples =
      ReadWavDirectory(dir.string(), Metadata(), Options());
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 3u);
  EXPECT_EQ((*samples)[0].source, (dir / "a.wav").string());
  EXPECT_EQ((*samples)[2].source, (dir / "c.WAV").string());
  const HostTensor& a = (*samples)[0].tensors[0];
  EXPECT_EQ(a.name, "AUDIO");
  EXPECT_EQ(a.datatype, "FP32");
  EXPECT_THAT(a.shape, ElementsAre(16000));
  EXPECT_THAT((*samples)[1].tensors[0].shape, ElementsAre(32000));
  EXPECT_THAT(AsVector<float>((*samples)[2].tensors[0]),
              ElementsAre(0, 1 / 16.0f, 2 / 16.0f, 3 / 16.0f, 4 / 16.0f));
}

TEST(ReadWavDirectoryTest, OtherRatesAndChannelCountsAreRefusedByName) {
  const fs::path dir = Folder("tts_rate");
  WriteWav(dir / "a.wav", 16000, 1, 100, WavSampleFormat::kPcm16);
  WriteWav(dir / "espeak.wav", 22050, 1, 100, WavSampleFormat::kPcm16);
  EXPECT_THAT(ReadWavDirectory(dir.string(), Metadata(), Options()).status().message(),
              HasSubstr((dir / "espeak.wav").string() +
                        ": sample rate 22050 Hz; the model expects 16000 Hz"));
  WavInputOptions at_22050 = Options();
  at_22050.sample_rate_hz = 22050;
  EXPECT_THAT(ReadWavDirectory(dir.string(), Metadata(), at_22050).status().message(),
              HasSubstr("a.wav: sample rate 16000 Hz; the model expects 22050 Hz"));

  const fs::path stereo = Folder("stereo");
  WriteWav(stereo / "s.wav", 16000, 2, 100, WavSampleFormat::kFloat32);
  EXPECT_THAT(ReadWavDirectory(stereo.string(), Metadata(), Options()).status().message(),
              HasSubstr("s.wav: 2 channels; the model takes mono audio"));
}

TEST(ReadWavDirectoryTest, BadFilesFoldersAndModels) {
  const fs::path dir = Folder("garbage");
  std::ofstream(dir / "x.wav") << "RIFF....WAVEfmt ";
  absl::StatusOr<std::vector<InputSample>> samples =
      ReadWavDirectory(dir.string(), Metadata(), Options());
  EXPECT_EQ(samples.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(samples.status().message(), HasSubstr((dir / "x.wav").string() + ": "));

  const fs::path empty_audio = Folder("empty_audio");
  WriteWav(empty_audio / "e.wav", 16000, 1, 0, WavSampleFormat::kPcm16);
  EXPECT_THAT(ReadWavDirectory(empty_audio.string(), Metadata(), Options()).status().message(),
              HasSubstr("e.wav: no audio"));

  const fs::path none = Folder("no_wavs");
  EXPECT_FALSE(HoldsWavFiles(none.string()));
  EXPECT_FALSE(HoldsWavFiles((none / "missing").string()));
  EXPECT_THAT(ReadWavDirectory(none.string(), Metadata(), Options()).status().message(),
              HasSubstr("holds no .wav file"));

  const fs::path good = Folder("good");
  WriteWav(good / "a.wav", 16000, 1, 10, WavSampleFormat::kPcm16);
  EXPECT_THAT(ReadWavDirectory(good.string(), Metadata("INT64"), Options()).status().message(),
              HasSubstr("single FP32 audio input; model wav2vec2 has inputs [AUDIO INT64]"));
  inference::ModelMetadataResponse two = Metadata();
  two.add_inputs()->set_name("LENGTHS");
  EXPECT_FALSE(ReadWavDirectory(good.string(), two, Options()).ok());
  WavInputOptions shaped = Options();
  shaped.shapes["AUDIO"] = {-1, -1};
  EXPECT_THAT(ReadWavDirectory(good.string(), Metadata(), shaped).status().message(),
              HasSubstr("a.wav: input \"AUDIO\": shape [-1, -1] has 2 variable dimensions"));
  shaped.sample_rate_hz = 0;
  EXPECT_FALSE(ReadWavDirectory(good.string(), Metadata(), shaped).ok());
}

}  // namespace
}  // namespace speech
