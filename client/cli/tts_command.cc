#include "client/cli/tts_command.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/speech/mel_image.h"
#include "client/speech/speech_pipelines.h"
#include "client/speech/wav_file.h"

namespace speech {
namespace {

// "-11.5 .. 2.3": the finite range that the picture's colours span.
std::string FiniteRange(const std::vector<float>& values) {
  float low = std::numeric_limits<float>::infinity();
  float high = -low;
  for (float value : values) {
    if (!std::isfinite(value)) continue;
    low = std::min(low, value);
    high = std::max(high, value);
  }
  if (low > high) return "no finite values";
  return absl::StrFormat("%.3g .. %.3g", low, high);
}

// Writes the mel picture and describes it, or returns why not.
absl::StatusOr<std::string> WriteMelPicture(const TtsReply& reply, const std::string& path) {
  absl::StatusOr<RgbImage> image = RenderMel(reply.mel, reply.mel_channels, reply.mel_frames);
  if (!image.ok()) return image.status();
  absl::Status written = WritePng(*image, path);
  if (!written.ok()) return written;
  return absl::StrCat(path, ": ", reply.mel_channels, " mel channels x ", reply.mel_frames,
                      " frames as ", image->width, " x ", image->height,
                      " pixels (low channels at the bottom; colours span the mel's own range ",
                      FiniteRange(reply.mel), ")");
}

}  // namespace

absl::StatusOr<TtsOptions> ParseTtsFlags(const std::vector<std::string>& words,
                                         const CommandLine& args) {
  TtsOptions options;
  options.text = absl::StrJoin(words, " ");
  if (options.text.empty()) return absl::InvalidArgumentError("tts needs a sentence to speak");
  options.wav_path = args.GetString("out");
  if (options.wav_path.empty()) return absl::InvalidArgumentError("tts needs --out=FILE.wav");
  options.mel_png_path = args.GetString("mel-png");
  absl::StatusOr<int> rate = GetPositiveIntFlag(args, "sample-rate", kTtsSampleRate);
  if (!rate.ok()) return rate.status();
  options.sample_rate_hz = *rate;
  return options;
}

int RunTts(const PipelineContext& context, const TtsOptions& options) {
  std::ostream& out = *context.out;
  std::ostream& err = *context.err;
  const bool want_mel = !options.mel_png_path.empty();
  const inference::ModelInferRequest request =
      MakeTtsRequest(context.model, context.version, options.text, want_mel);

  const absl::StatusOr<inference::ModelStatisticsResponse> before =
      SnapshotStatistics(*context.client);
  const absl::Time start = absl::Now();
  absl::StatusOr<inference::ModelInferResponse> response =
      context.client->Infer(request, context.timeout);
  const absl::Duration latency = absl::Now() - start;
  if (!response.ok()) return PrintError(err, response.status(), kExitRpcError);
  absl::StatusOr<TtsReply> reply = ReadTtsReply(*response, want_mel);
  if (!reply.ok()) return PrintError(err, reply.status(), kExitRpcError);

  WavAudio audio;
  audio.sample_rate = options.sample_rate_hz;
  audio.channels = 1;
  audio.samples = std::move(reply->audio);
  const int64_t clipped = SanitizeAudio(&audio.samples);
  absl::Status written = WriteFile(options.wav_path, EncodeWav(audio, WavSampleFormat::kPcm16));
  if (!written.ok()) return PrintError(err, written, kExitRpcError);
  out << absl::StrFormat("%s: %.2f s of 16-bit audio at %d Hz (%d samples)\n", options.wav_path,
                         static_cast<double>(audio.samples.size()) / audio.sample_rate,
                         audio.sample_rate, audio.samples.size());
  if (clipped > 0) {
    out << absl::StrFormat("  %d of %d samples were outside [-1, 1] (or not numbers): clipped\n",
                           clipped, audio.samples.size());
  }
  if (want_mel) {
    absl::StatusOr<std::string> picture = WriteMelPicture(*reply, options.mel_png_path);
    if (!picture.ok()) return PrintError(err, picture.status(), kExitRpcError);
    out << *picture << "\n";
  }
  out << "latency: " << FormatMs(latency) << "\n";
  PrintServerTimings(context, before);
  return 0;
}

}  // namespace speech
