// What speech_client's `tts` and `asr` commands send to and read from the server's two speech
// pipelines (Triton ensembles):
//   tts: TEXT BYTES [1, 1] (one UTF-8 sentence) -> AUDIO FP32 [1, samples] (22,050 Hz mono) and
//        MEL FP32 [1, 80, frames]
//   asr: AUDIO FP32 [1, samples] (16 kHz mono) -> TRANSCRIPT BYTES [1, 1]
// Pure functions: request building, reply reading and checking the audio a user gives.
#ifndef SPEECH_CLIENT_SPEECH_SPEECH_PIPELINES_H_
#define SPEECH_CLIENT_SPEECH_SPEECH_PIPELINES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "client/speech/wav_file.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// The pipelines' tensor names.
inline constexpr char kTextInput[] = "TEXT";
inline constexpr char kAudioTensor[] = "AUDIO";
inline constexpr char kMelOutput[] = "MEL";
inline constexpr char kTranscriptOutput[] = "TRANSCRIPT";

// The sample rates the pipelines are trained for: what tts produces, what asr takes.
inline constexpr int kTtsSampleRate = 22050;
inline constexpr int kAsrSampleRate = 16000;

// A tts request for `model` (`version` empty: the server's choice) speaking `text`; it asks for
// AUDIO, and for MEL too when `want_mel`.
inference::ModelInferRequest MakeTtsRequest(absl::string_view model, absl::string_view version,
                                            absl::string_view text, bool want_mel);

// What tts answered. A plain value type.
struct TtsReply {
  std::vector<float> audio;
  // Row-major [mel_channels, mel_frames]; empty unless asked for.
  std::vector<float> mel;
  int64_t mel_channels = 0;
  int64_t mel_frames = 0;
};

// The AUDIO (and with `want_mel` the MEL) of a tts reply. INVALID_ARGUMENT naming the output when
// it is missing or is not FP32 of shape [1, samples] (AUDIO) or [1, channels, frames] (MEL); the
// leading 1 may be absent.
absl::StatusOr<TtsReply> ReadTtsReply(const inference::ModelInferResponse& response, bool want_mel);

// An asr request for `model` carrying `samples` (mono, at the model's rate) as AUDIO [1, N].
inference::ModelInferRequest MakeAsrRequest(absl::string_view model, absl::string_view version,
                                            absl::Span<const float> samples);

// The TRANSCRIPT of an asr reply. INVALID_ARGUMENT when it is missing, not BYTES, or does not
// hold exactly one element.
absl::StatusOr<std::string> ReadTranscript(const inference::ModelInferResponse& response);

// OK when `audio`, read from `path`, suits an asr model that takes mono audio at `sample_rate`.
// INVALID_ARGUMENT starting with the path and naming the rate or channel count found, with the
// sox command that converts it, or saying that the file holds no samples.
absl::Status CheckAsrAudio(const WavAudio& audio, absl::string_view path, int sample_rate);

// Replaces every non-finite sample by 0 and returns how many samples were out of [-1, 1]
// (non-finite ones included): those EncodeWav's 16 bits cannot hold as they are.
int64_t SanitizeAudio(std::vector<float>* samples);

}  // namespace speech

#endif  // SPEECH_CLIENT_SPEECH_SPEECH_PIPELINES_H_
