#include "client/cli/asr_command.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/speech/speech_pipelines.h"

namespace speech {
namespace {

// `text` for printing between double quotes: quotes, backslashes and control characters escaped,
// everything else (UTF-8 included) as it is.
std::string Quote(absl::string_view text) {
  std::string quoted = "\"";
  for (char c : text) {
    const unsigned char byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      quoted += '\\';
      quoted += c;
    } else if (c == '\n') {
      quoted += "\\n";
    } else if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppend(&quoted, absl::StrFormat("\\x%02x", byte));
    } else {
      quoted += c;
    }
  }
  return quoted + "\"";
}

// One file's outcome.
struct Transcription {
  absl::StatusOr<std::string> transcript = absl::UnknownError("not sent");
  absl::Duration latency = absl::ZeroDuration();
};

Transcription Transcribe(const PipelineContext& context, const WavAudio& audio) {
  const inference::ModelInferRequest request =
      MakeAsrRequest(context.model, context.version, audio.samples);
  Transcription result;
  const absl::Time start = absl::Now();
  absl::StatusOr<inference::ModelInferResponse> response =
      context.client->Infer(request, context.timeout);
  result.latency = absl::Now() - start;
  result.transcript = response.ok() ? ReadTranscript(*response) : response.status();
  return result;
}

// Transcribes every file with `threads` threads taking the next file as they finish one, so
// that at most `threads` requests are in flight. Each slot of the result is written by the one
// thread that took its file, and read only after every thread is joined.
std::vector<Transcription> TranscribeAll(const PipelineContext& context,
                                         const std::vector<WavAudio>& audio, int threads) {
  std::vector<Transcription> results(audio.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < audio.size(); i = next.fetch_add(1)) {
      results[i] = Transcribe(context, audio[i]);
    }
  };
  std::vector<std::thread> workers;
  const size_t count = std::min(audio.size(), static_cast<size_t>(threads));
  for (size_t i = 0; i < count; ++i) workers.emplace_back(work);
  for (std::thread& worker : workers) worker.join();
  return results;
}

}  // namespace

absl::StatusOr<AsrOptions> ParseAsrFlags(const std::vector<std::string>& paths,
                                         const CommandLine& args) {
  AsrOptions options;
  options.paths = paths;
  if (options.paths.empty()) return absl::InvalidArgumentError("asr needs WAV files");
  absl::StatusOr<int> rate = GetPositiveIntFlag(args, "sample-rate", kAsrSampleRate);
  if (!rate.ok()) return rate.status();
  options.sample_rate_hz = *rate;
  absl::StatusOr<int> concurrency = GetPositiveIntFlag(args, "concurrency", 16);
  if (!concurrency.ok()) return concurrency.status();
  options.concurrency = *concurrency;
  return options;
}

absl::StatusOr<std::vector<WavAudio>> LoadAsrAudio(const AsrOptions& options) {
  std::vector<WavAudio> audio;
  audio.reserve(options.paths.size());
  for (const std::string& path : options.paths) {
    absl::StatusOr<WavAudio> wav = ReadWav(path);
    if (!wav.ok()) return wav.status();
    absl::Status suits = CheckAsrAudio(*wav, path, options.sample_rate_hz);
    if (!suits.ok()) return suits;
    audio.push_back(*std::move(wav));
  }
  return audio;
}

int RunAsr(const PipelineContext& context, const AsrOptions& options,
           const std::vector<WavAudio>& audio) {
  std::ostream& out = *context.out;
  const absl::StatusOr<inference::ModelStatisticsResponse> before =
      SnapshotStatistics(*context.client);
  const absl::Time start = absl::Now();
  const std::vector<Transcription> results = TranscribeAll(context, audio, options.concurrency);
  const absl::Duration elapsed = absl::Now() - start;

  int failed = 0;
  double audio_seconds = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    audio_seconds += static_cast<double>(audio[i].samples.size()) / audio[i].sample_rate;
    const Transcription& result = results[i];
    if (result.transcript.ok()) {
      out << options.paths[i] << ": " << Quote(*result.transcript) << " ("
          << FormatMs(result.latency) << ")\n";
    } else {
      ++failed;
      out << options.paths[i]
          << ": error: " << absl::StatusCodeToString(result.transcript.status().code()) << ": "
          << result.transcript.status().message() << " (" << FormatMs(result.latency) << ")\n";
    }
  }
  out << results.size() << (results.size() == 1 ? " file" : " files") << " ("
      << absl::StrFormat("%.2f", audio_seconds) << " s of audio) in " << FormatMs(elapsed)
      << ", up to " << std::min<size_t>(results.size(), options.concurrency) << " at once"
      << (failed > 0 ? absl::StrCat("; ", failed, " failed") : "") << "\n";
  PrintServerTimings(context, before);
  return failed > 0 ? kExitRpcError : 0;
}

}  // namespace speech
