// speech_client's `asr` command: transcribes WAV files with the server's asr pipeline, several at
// once, and prints one transcript per file in the order given, each with its latency, then the
// server's time per model.
#ifndef SPEECH_CLIENT_CLI_ASR_COMMAND_H_
#define SPEECH_CLIENT_CLI_ASR_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/cli/pipeline_command.h"
#include "client/command_line.h"
#include "client/speech/wav_file.h"

namespace speech {

// What `asr` was asked. A plain value type.
struct AsrOptions {
  std::vector<std::string> paths;  // the WAV files, in the order given; never empty
  int sample_rate_hz = 16000;      // --sample-rate: the rate every file must have
  int concurrency = 16;            // --concurrency: requests (threads) in flight at most
};

// The options from `paths` and the flags --sample-rate and --concurrency. INVALID_ARGUMENT for no
// file or a bad number.
absl::StatusOr<AsrOptions> ParseAsrFlags(const std::vector<std::string>& paths,
                                         const CommandLine& args);

// Reads every file of `options`, in order, refusing any that is not mono at the sample rate.
// Returns the first file's error: ReadWav's (NOT_FOUND, ...; INVALID_ARGUMENT for a file that is
// not a WAV of a format it reads) or CheckAsrAudio's (INVALID_ARGUMENT naming the file and the
// rate or channel count found).
absl::StatusOr<std::vector<WavAudio>> LoadAsrAudio(const AsrOptions& options);

// Sends `audio[i]` (read from options.paths[i]) to the model, up to options.concurrency requests
// at once, one thread each; prints `PATH: "TRANSCRIPT" (LATENCY)` per file in the order given, or
// `PATH: error: ...` for a file that failed, then a summary and the server's time per model.
// Returns 0 when every file was transcribed, kExitRpcError otherwise.
int RunAsr(const PipelineContext& context, const AsrOptions& options,
           const std::vector<WavAudio>& audio);

}  // namespace speech

#endif  // SPEECH_CLIENT_CLI_ASR_COMMAND_H_
