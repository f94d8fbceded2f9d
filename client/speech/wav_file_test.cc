#include "client/speech/wav_file.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::string_literals;  // "..."s keeps embedded NULs

// Builders for hand-made files, so that each test says which bytes it means.
std::string Le16(uint16_t value) { return std::string{char(value & 0xFF), char(value >> 8)}; }
std::string Le32(uint32_t value) { return Le16(value & 0xFFFF) + Le16(value >> 16); }

std::string Chunk(const std::string& id, const std::string& payload) {
  return id + Le32(payload.size()) + payload + (payload.size() % 2 ? std::string(1, '\0') : "");
}

std::string Riff(const std::string& chunks) {
  return "RIFF" + Le32(4 + chunks.size()) + "WAVE" + chunks;
}

std::string Fmt(uint16_t tag, uint16_t channels, uint32_t rate, uint16_t bits) {
  const uint16_t block = channels * bits / 8;
  return Le16(tag) + Le16(channels) + Le32(rate) + Le32(rate * block) + Le16(block) + Le16(bits);
}

const char kGuidTail[] = "\x00\x00\x00\x00\x10\x00\x80\x00\x00\xAA\x00\x38\x9B\x71";

std::string ExtensibleFmt(uint16_t subformat, uint16_t channels, uint32_t rate, uint16_t bits) {
  return Fmt(0xFFFE, channels, rate, bits) + Le16(22) + Le16(bits) + Le32(0x4) + Le16(subformat) +
         std::string(kGuidTail, 14);
}

std::string Pcm16(const std::vector<int16_t>& values) {
  std::string out;
  for (int16_t v : values) out += Le16(static_cast<uint16_t>(v));
  return out;
}

std::string Float32(const std::vector<float>& values) {
  std::string out(values.size() * 4, '\0');
  std::memcpy(out.data(), values.data(), out.size());
  return out;
}

WavAudio Audio(int rate, int channels, std::vector<float> samples) {
  WavAudio audio;
  audio.sample_rate = rate;
  audio.channels = channels;
  audio.samples = std::move(samples);
  return audio;
}

TEST(WavFileTest, Pcm16RoundTripsExactly) {
  const WavAudio audio = Audio(16000, 1, {0.0f, 0.5f, -1.0f, 32767 / 32768.0f, -1 / 32768.0f});
  const std::string bytes = EncodeWav(audio, WavSampleFormat::kPcm16);
  EXPECT_EQ(bytes.size(), 44u + 2 * 5);
  absl::StatusOr<WavAudio> read = ParseWav(bytes, "a.wav");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->sample_rate, 16000);
  EXPECT_EQ(read->channels, 1);
  EXPECT_EQ(read->samples, audio.samples);
  EXPECT_EQ(read->frame_count(), 5);
}

TEST(WavFileTest, Pcm16EncodingClampsAndRounds) {
  const std::string bytes =
      EncodeWav(Audio(8000, 1, {2.0f, -3.0f, 1.0f, 0.25f / 32768}), WavSampleFormat::kPcm16);
  absl::StatusOr<WavAudio> read = ParseWav(bytes, "clamped.wav");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(read->samples, ElementsAre(32767 / 32768.0f, -1.0f, 32767 / 32768.0f, 0.0f));
}

TEST(WavFileTest, Float32RoundTripsWithItsFactChunk) {
  const WavAudio audio = Audio(22050, 2, {0.1f, -0.2f, 1.5f, -7.25f});  // not clamped
  const std::string bytes = EncodeWav(audio, WavSampleFormat::kFloat32);
  EXPECT_NE(bytes.find("fact"), std::string::npos);
  absl::StatusOr<WavAudio> read = ParseWav(bytes, "f.wav");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->sample_rate, 22050);
  EXPECT_EQ(read->channels, 2);
  EXPECT_EQ(read->frame_count(), 2);
  EXPECT_EQ(read->samples, audio.samples);
}

TEST(WavFileTest, SkipsUnknownChunksInAnyOrderWithPadding) {
  const std::string file =
      Riff(Chunk("JUNK", std::string(3, 'j')) +  // odd: one pad byte
           Chunk("LIST", "INFOISFT\x05\0\0\0espk\0"s) +
           Chunk("data", Pcm16({100, -200, 300})) +  // before "fmt "
           Chunk("fmt ", Fmt(1, 1, 16000, 16)) + Chunk("cue ", std::string(4, '\0')));
  absl::StatusOr<WavAudio> read = ParseWav(file, "chunks.wav");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(read->samples, ElementsAre(100 / 32768.0f, -200 / 32768.0f, 300 / 32768.0f));
}

TEST(WavFileTest, ReadsExtensiblePcmAndFloat) {
  absl::StatusOr<WavAudio> pcm = ParseWav(
      Riff(Chunk("fmt ", ExtensibleFmt(1, 1, 48000, 16)) + Chunk("data", Pcm16({-32768, 16384}))),
      "ext_pcm.wav");
  ASSERT_TRUE(pcm.ok()) << pcm.status();
  EXPECT_EQ(pcm->sample_rate, 48000);
  EXPECT_THAT(pcm->samples, ElementsAre(-1.0f, 0.5f));

  absl::StatusOr<WavAudio> fp =
      ParseWav(Riff(Chunk("fmt ", ExtensibleFmt(3, 1, 16000, 32)) + Chunk("fact", Le32(2)) +
                    Chunk("data", Float32({0.125f, -0.75f}))),
               "ext_float.wav");
  ASSERT_TRUE(fp.ok()) << fp.status();
  EXPECT_THAT(fp->samples, ElementsAre(0.125f, -0.75f));
}

TEST(WavFileTest, StreamedDataSizeMeansToTheEnd) {
  std::string file =
      Riff(Chunk("fmt ", Fmt(1, 1, 16000, 16)) + "data" + Le32(0xFFFFFFFF) + Pcm16({1, 2, 3, 4}));
  absl::StatusOr<WavAudio> read = ParseWav(file, "stream.wav");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->samples.size(), 4u);
}

TEST(WavFileTest, MissingFinalPadByteIsAccepted) {
  std::string file = Riff(Chunk("fmt ", Fmt(1, 1, 16000, 16)) + Chunk("data", Pcm16({7})) + "LIST" +
                          Le32(3) + "abc");  // no pad byte after the odd chunk
  EXPECT_TRUE(ParseWav(file, "nopad.wav").ok());
}

TEST(WavFileTest, BadFilesNameTheFileAndTheProblem) {
  const std::string fmt = Chunk("fmt ", Fmt(1, 1, 16000, 16));
  const std::string data = Chunk("data", Pcm16({1, 2}));
  const std::string good = Riff(fmt + data);
  struct Case {
    std::string bytes;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "shorter than the 12-byte RIFF/WAVE header"},
      {"RIFF\0\0\0\0AVI LIST"s, "not a WAV file"},
      {std::string(100, 'x'), "not a WAV file"},
      {good.substr(0, good.size() - 1), "truncated: chunk 'data'"},
      {good.substr(0, 12 + 5), "truncated chunk header"},
      {Riff(data), "no 'fmt ' chunk"},
      {Riff(fmt), "no 'data' chunk"},
      {Riff(Chunk("fmt ", Fmt(1, 1, 16000, 16).substr(0, 14)) + data), "at least 16"},
      {Riff(Chunk("fmt ", Fmt(1, 1, 16000, 24)) + data), "0x0001 with 24 bits"},
      {Riff(Chunk("fmt ", Fmt(1, 1, 16000, 8)) + data), "8 bits"},
      {Riff(Chunk("fmt ", Fmt(6, 1, 8000, 8)) + data), "unsupported sample format 0x0006"},
      {Riff(Chunk("fmt ", Fmt(3, 1, 16000, 64)) + data), "64 bits"},
      {Riff(Chunk("fmt ", Fmt(1, 0, 16000, 16)) + data), "0 channels"},
      {Riff(Chunk("fmt ", Fmt(1, 1, 0, 16)) + data), "at 0 Hz"},
      {Riff(Chunk("fmt ", Fmt(1, 2, 16000, 16)) + Chunk("data", Pcm16({1, 2, 3}))),
       "not a whole number of 4-byte frames"},
      {Riff(Chunk("fmt ", Fmt(1, 1, 16000, 16).substr(0, 12) + Le16(4) + Le16(16)) + data),
       "block size is 4 bytes"},
      {Riff(Chunk("fmt ", ExtensibleFmt(1, 1, 16000, 16).substr(0, 30)) + data),
       "WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk has 30 bytes"},
      {Riff(Chunk("fmt ", ExtensibleFmt(1, 1, 16000, 16).substr(0, 39) + "X") + data),
       "unknown subformat GUID"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<WavAudio> read = ParseWav(c.bytes, "/data/bad.wav");
    ASSERT_FALSE(read.ok()) << c.message;
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(read.status().message(), HasSubstr("/data/bad.wav: ")) << c.message;
    EXPECT_THAT(read.status().message(), HasSubstr(c.message));
  }
}

TEST(WavFileTest, ReadWavReadsAFileAndNamesAMissingOne) {
  const std::string path =
      (std::filesystem::path(std::getenv("TEST_TMPDIR")) / "read.wav").string();
  std::ofstream(path, std::ios::binary)
      << EncodeWav(Audio(16000, 1, {0.5f, -0.5f}), WavSampleFormat::kPcm16);
  absl::StatusOr<WavAudio> read = ReadWav(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(read->samples, ElementsAre(0.5f, -0.5f));

  absl::StatusOr<WavAudio> missing = ReadWav(path + ".missing");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("read.wav.missing"));
}

}  // namespace
}  // namespace speech
