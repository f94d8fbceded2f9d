// End-to-end tests of the speech_client binary against a fake server bound to a free port.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "client/speech/wav_file.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"
#include "png.h"
#include "proto/bytes_elements.h"
#include "tests/fakes/fake_inference_service.h"

namespace speech {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

// Writes a WAV of `samples` (interleaved) and returns its path.
std::string WriteWavFile(const std::string& name, int sample_rate, int channels,
                         std::vector<float> samples,
                         WavSampleFormat format = WavSampleFormat::kPcm16) {
  WavAudio audio;
  audio.sample_rate = sample_rate;
  audio.channels = channels;
  audio.samples = std::move(samples);
  const std::string path = TempPath(name);
  std::ofstream(path, std::ios::binary) << EncodeWav(audio, format);
  return path;
}

// A decoded PNG: width, height and RGB rows from the top; width 0 when it does not decode.
struct Png {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
  std::vector<uint8_t> at(int x, int y) const {
    const size_t i = 3 * (static_cast<size_t>(y) * width + x);
    return {rgb[i], rgb[i + 1], rgb[i + 2]};
  }
};

Png DecodePng(const std::string& path) {
  png_image image;
  std::memset(&image, 0, sizeof(image));
  image.version = PNG_IMAGE_VERSION;
  Png png;
  if (!png_image_begin_read_from_file(&image, path.c_str())) return png;
  image.format = PNG_FORMAT_RGB;
  png.rgb.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, png.rgb.data(), 0, nullptr)) return png;
  png.width = static_cast<int>(image.width);
  png.height = static_cast<int>(image.height);
  return png;
}

// Whether `needles` appear in `text` in this order.
bool InOrder(const std::string& text, const std::vector<std::string>& needles) {
  size_t at = 0;
  for (const std::string& needle : needles) {
    at = text.find(needle, at);
    if (at == std::string::npos) return false;
    at += needle.size();
  }
  return true;
}

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

class SpeechClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&inference_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  // Runs the binary (a data dependency, relative to the runfiles directory) with `args`.
  Result Run(const std::string& args) {
    const std::string command =
        absl::StrCat("client/cli/speech_client --url=127.0.0.1:", port_, " ", args, " 2>&1");
    std::FILE* pipe = popen(command.c_str(), "r");
    Result result{-1, ""};
    if (pipe == nullptr) return result;
    char buffer[4096];
    size_t read;
    while ((read = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
      result.output.append(buffer, read);
    }
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

  int port_ = 0;
  FakeInferenceService inference_;
  FakeHealthService health_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(SpeechClientTest, HealthCommands) {
  Result live = Run("live");
  EXPECT_EQ(live.exit_code, 0) << live.output;
  EXPECT_EQ(live.output, "live: true\n");
  EXPECT_EQ(Run("ready asr").output, "asr ready: true\n");
  Result not_ready = Run("ready asr --version 2");
  EXPECT_EQ(not_ready.exit_code, 3);
  EXPECT_EQ(Run("health").output, "health: SERVING\n");
}

TEST_F(SpeechClientTest, MetadataAsTextProto) {
  Result metadata = Run("model-metadata asr");
  EXPECT_EQ(metadata.exit_code, 0) << metadata.output;
  EXPECT_THAT(metadata.output, HasSubstr("name: \"AUDIO\""));
  Result missing = Run("model-config tts");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.output, "error: NOT_FOUND: unknown model: tts\n");
  Result unimplemented = Run("index");
  EXPECT_EQ(unimplemented.exit_code, 1);
  EXPECT_THAT(unimplemented.output, StartsWith("error: UNIMPLEMENTED: "));
}

TEST_F(SpeechClientTest, InferGeneratesInputsFromMetadata) {
  Result infer = Run("infer asr --batch=2 --length 50 --int-range=7,8 --repeat=3");
  EXPECT_EQ(infer.exit_code, 0) << infer.output;
  EXPECT_THAT(infer.output, HasSubstr("AUDIO FP32 [2, 80, 50]: min -"));
  EXPECT_THAT(infer.output, HasSubstr("LENGTHS INT64 [2, 1]: min 7 max 7 mean 7 first [7, 7]"));
  EXPECT_THAT(infer.output, HasSubstr("latency over 3 requests: mean "));
  const inference::ModelInferRequest request = inference_.last_request();
  ASSERT_EQ(request.inputs_size(), 2);
  EXPECT_EQ(request.raw_input_contents(0).size(), 2 * 80 * 50 * sizeof(float));
}

TEST_F(SpeechClientTest, InferUsageErrors) {
  Result unknown = Run("infer asr --shape=VIDEO:1,2");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("error: INVALID_ARGUMENT: --shape names input \"VIDEO\""));
  EXPECT_EQ(Run("infer asr --data=ones").exit_code, 2);
  EXPECT_EQ(Run("infer").exit_code, 2);
}

TEST_F(SpeechClientTest, TtsWritesTheWavAndTheMelPicture) {
  FakeSpeechPipelines pipelines;
  pipelines.tts_audio.clear();
  for (int i = 0; i < 4410; ++i) pipelines.tts_audio.push_back(((i % 200) - 100) / 128.0f);
  pipelines.tts_audio[7] = 1.5f;  // clipped to the loudest 16-bit sample
  pipelines.tts_mel.clear();
  for (int c = 0; c < 80; ++c) {
    for (int t = 0; t < 20; ++t) pipelines.tts_mel.push_back(c == 0 ? 5.0f : -5.0f + 0.01f * t);
  }
  inference_.ServeSpeechPipelines(pipelines);
  EXPECT_EQ(Run("ready tts").exit_code, 0);
  const std::string wav = TempPath("turn.wav");
  const std::string png = TempPath("mel.png");

  Result tts =
      Run(absl::StrCat("tts \"Turn left at the next corner.\" --out ", wav, " --mel-png=", png));
  EXPECT_EQ(tts.exit_code, 0) << tts.output;
  EXPECT_THAT(tts.output,
              HasSubstr(absl::StrCat(wav, ": 0.20 s of 16-bit audio at 22050 Hz (4410 samples)")));
  EXPECT_THAT(tts.output,
              HasSubstr("  1 of 4410 samples were outside [-1, 1] (or not numbers): clipped\n"));
  EXPECT_THAT(tts.output,
              HasSubstr(absl::StrCat(png, ": 80 mel channels x 20 frames as 640 x 240 pixels")));
  EXPECT_TRUE(
      InOrder(tts.output, {"latency: ", "server time per request, ms",
                           // The ensemble first, then its steps in pipeline order.
                           "model         version  ok  fail  queue  input  infer  output   total",
                           "tts           1         1     0  0.300  0.600  8.000   1.200  10.100",
                           "tts_frontend  1         1     0  0.100  0.200  1.000   0.400   1.700",
                           "tts_acoustic  1         1     0  0.100  0.200  2.000   0.400   2.700",
                           "tts_vocoder   1         1     0  0.100  0.200  5.000   0.400   5.700"}))
      << tts.output;
  const inference::ModelInferRequest request = inference_.last_request();
  EXPECT_EQ(request.model_name(), "tts");
  ASSERT_EQ(request.raw_input_contents_size(), 1);
  EXPECT_EQ(request.raw_input_contents(0),
            PackBytesElements(std::vector<std::string>{"Turn left at the next corner."}));

  absl::StatusOr<WavAudio> audio = ReadWav(wav);
  ASSERT_TRUE(audio.ok()) << audio.status();
  EXPECT_EQ(audio->sample_rate, 22050);
  EXPECT_EQ(audio->channels, 1);
  ASSERT_EQ(audio->samples.size(), 4410u);
  EXPECT_EQ(audio->samples[0], -100 / 128.0f);
  EXPECT_EQ(audio->samples[7], 32767 / 32768.0f);
  EXPECT_EQ(audio->samples[4409], -91 / 128.0f);

  const Png picture = DecodePng(png);
  ASSERT_EQ(picture.width, 640);   // 20 frames widened to 32 pixels each
  ASSERT_EQ(picture.height, 240);  // 80 channels of 3 pixels
  // Channel 0, the loudest, is the bottom band; the ramp above it brightens towards the right.
  EXPECT_EQ(picture.at(0, 239), (std::vector<uint8_t>{252, 253, 191}));
  EXPECT_EQ(picture.at(0, 236), (std::vector<uint8_t>{0, 0, 4}));
  EXPECT_NE(picture.at(639, 0), (std::vector<uint8_t>{0, 0, 4}));

  Result other_rate = Run(absl::StrCat("tts Turn left --out=", wav, " --sample-rate=24000"));
  EXPECT_EQ(other_rate.exit_code, 0) << other_rate.output;
  EXPECT_EQ(ReadWav(wav)->sample_rate, 24000);
  EXPECT_THAT(other_rate.output, Not(HasSubstr("mel channels")));
  EXPECT_EQ(inference_.last_request().outputs_size(), 1);  // AUDIO only
}

TEST_F(SpeechClientTest, TtsErrors) {
  Result not_ready = Run("ready tts");
  EXPECT_EQ(not_ready.exit_code, 3);  // the quickstart skips tts on this
  Result unknown = Run(absl::StrCat("tts hello --out ", TempPath("x.wav")));
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.output, "error: NOT_FOUND: unknown model: tts\n");
  Result no_out = Run("tts hello");
  EXPECT_EQ(no_out.exit_code, 2);
  EXPECT_THAT(no_out.output, HasSubstr("tts needs --out=FILE.wav"));
  EXPECT_THAT(Run("tts --out x.wav").output, HasSubstr("tts takes at least 1 argument(s); got 0"));
  EXPECT_EQ(Run("tts hi --out x.wav --sample-rate=0").exit_code, 2);
}

// Transcripts name the sample count, so that each file's line shows it got its own.
FakeSpeechPipelines CountingAsr(int rendezvous) {
  FakeSpeechPipelines pipelines;
  pipelines.transcribe = [](absl::Span<const float> audio) {
    return absl::StrCat("heard ", audio.size(), " samples");
  };
  pipelines.asr_rendezvous = rendezvous;
  return pipelines;
}

TEST_F(SpeechClientTest, AsrPrintsTranscriptsInOrderWhileSendingConcurrently) {
  const std::string a = WriteWavFile("a.wav", 16000, 1, std::vector<float>(1600, 0.5f));
  const std::string b =
      WriteWavFile("b.wav", 16000, 1, std::vector<float>(800, -0.25f), WavSampleFormat::kFloat32);
  const std::string c = WriteWavFile("c.wav", 16000, 1, std::vector<float>(3200, 0.125f));
  const std::string d = WriteWavFile("d.wav", 16000, 1, std::vector<float>(400, 0.0f));
  // Calls meet in pairs: a client capped at 2 requests in flight gets through without waiting.
  inference_.ServeSpeechPipelines(CountingAsr(2));

  Result asr = Run(absl::StrCat("asr ", a, " ", b, " ", c, " ", d, " --concurrency=2"));
  EXPECT_EQ(asr.exit_code, 0) << asr.output;
  EXPECT_TRUE(InOrder(asr.output, {absl::StrCat(a, ": \"heard 1600 samples\" ("), " ms)\n",
                                   absl::StrCat(b, ": \"heard 800 samples\" ("), " ms)\n",
                                   absl::StrCat(c, ": \"heard 3200 samples\" ("), " ms)\n",
                                   absl::StrCat(d, ": \"heard 400 samples\" ("), " ms)\n",
                                   "4 files (0.38 s of audio) in ", ", up to 2 at once\n",
                                   "server time per request, ms",
                                   "asr    1         4     0  0.100  0.200  3.000   0.400  3.700"}))
      << asr.output;
  EXPECT_THAT(asr.output, Not(HasSubstr("tts")));
  EXPECT_EQ(inference_.max_asr_in_flight(), 2);

  // The default concurrency (16) sends all four at once.
  inference_.ServeSpeechPipelines(CountingAsr(4));
  Result all = Run(absl::StrCat("asr ", a, " ", b, " ", c, " ", d));
  EXPECT_EQ(all.exit_code, 0) << all.output;
  EXPECT_EQ(inference_.max_asr_in_flight(), 4);
  EXPECT_THAT(all.output, HasSubstr("up to 4 at once"));
}

TEST_F(SpeechClientTest, AsrRefusesFilesItCannotUseAndSendsNothing) {
  inference_.ServeSpeechPipelines(CountingAsr(0));
  const std::string good = WriteWavFile("good.wav", 16000, 1, std::vector<float>(160, 0.5f));
  const std::string cd = WriteWavFile("cd.wav", 44100, 1, std::vector<float>(441, 0.5f));
  const std::string stereo = WriteWavFile("stereo.wav", 16000, 2, std::vector<float>(320, 0.5f));

  Result rate = Run(absl::StrCat("asr ", good, " ", cd));
  EXPECT_EQ(rate.exit_code, 2) << rate.output;
  EXPECT_THAT(rate.output, HasSubstr(absl::StrCat("error: INVALID_ARGUMENT: ", cd,
                                                  ": 44100 Hz; asr takes 16000 Hz")));
  Result channels = Run(absl::StrCat("asr ", stereo));
  EXPECT_EQ(channels.exit_code, 2) << channels.output;
  EXPECT_THAT(channels.output, HasSubstr(absl::StrCat("error: INVALID_ARGUMENT: ", stereo,
                                                      ": 2 channels; asr takes mono")));
  EXPECT_EQ(inference_.last_request().model_name(), "");  // nothing was sent

  // --sample-rate names the rate the files must have.
  Result cd_rate = Run(absl::StrCat("asr ", cd, " --sample-rate=44100"));
  EXPECT_EQ(cd_rate.exit_code, 0) << cd_rate.output;
  EXPECT_THAT(cd_rate.output, HasSubstr(absl::StrCat(cd, ": \"heard 441 samples\"")));
  Result missing = Run(absl::StrCat("asr ", TempPath("missing.wav")));
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.output, StartsWith("error: NOT_FOUND: cannot open "));
  EXPECT_EQ(Run("asr").exit_code, 2);
  EXPECT_EQ(Run(absl::StrCat("asr ", good, " --concurrency=0")).exit_code, 2);
}

TEST_F(SpeechClientTest, AsrQuotesTranscriptsReadably) {
  FakeSpeechPipelines pipelines;
  pipelines.transcribe = [](absl::Span<const float>) { return "don't say \"no\"\n\tnaïve"; };
  inference_.ServeSpeechPipelines(pipelines);
  const std::string a = WriteWavFile("quote.wav", 16000, 1, std::vector<float>(16, 0.5f));
  Result asr = Run(absl::StrCat("asr ", a));
  EXPECT_EQ(asr.exit_code, 0) << asr.output;
  EXPECT_THAT(asr.output, HasSubstr(absl::StrCat(a, ": \"don't say \\\"no\\\"\\n\\x09naïve\" (")));
}

}  // namespace
}  // namespace speech
