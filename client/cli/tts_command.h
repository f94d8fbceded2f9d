// speech_client's `tts` command: speaks one sentence with the server's tts pipeline, writes the
// audio as a 16-bit PCM WAV and, on request, the mel spectrogram as a PNG, then prints the
// latency and the server's time per model.
#ifndef SPEECH_CLIENT_CLI_TTS_COMMAND_H_
#define SPEECH_CLIENT_CLI_TTS_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/cli/pipeline_command.h"
#include "client/command_line.h"

namespace speech {

// What `tts` was asked. A plain value type.
struct TtsOptions {
  std::string text;            // the sentence; never empty
  std::string wav_path;        // --out; never empty
  std::string mel_png_path;    // --mel-png; empty: no picture
  int sample_rate_hz = 22050;  // --sample-rate: written in the WAV header (the audio is as sent)
};

// The options from `words` (the command's arguments, joined by spaces into the sentence) and the
// flags --out, --mel-png and --sample-rate. INVALID_ARGUMENT for an empty sentence, a missing
// --out or a bad rate.
absl::StatusOr<TtsOptions> ParseTtsFlags(const std::vector<std::string>& words,
                                         const CommandLine& args);

// Runs the command; returns the exit code, having printed the result or the error.
int RunTts(const PipelineContext& context, const TtsOptions& options);

}  // namespace speech

#endif  // SPEECH_CLIENT_CLI_TTS_COMMAND_H_
