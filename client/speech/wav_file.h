// RIFF/WAVE audio for the client tools (perf_analyzer's audio inputs, speech_client, accuracy
// checks): reading 16-bit PCM and 32-bit IEEE float files, plain or wrapped in
// WAVE_FORMAT_EXTENSIBLE, into float samples, and writing the same two formats. No resampling
// and no channel mixing: callers decide what a rate or channel count they did not expect means.
// Pure functions; ReadWav reads one file.
#ifndef SPEECH_CLIENT_SPEECH_WAV_FILE_H_
#define SPEECH_CLIENT_SPEECH_WAV_FILE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace speech {

// Decoded audio. A plain value type.
struct WavAudio {
  int sample_rate = 0;  // frames per second
  int channels = 0;
  // Interleaved, `channels` values per frame. 16-bit PCM is scaled by 1/32768 into [-1, 1);
  // float files are returned as stored (not clamped).
  std::vector<float> samples;

  // Whole frames held; 0 when `channels` is not positive.
  int64_t frame_count() const {
    return channels > 0 ? static_cast<int64_t>(samples.size()) / channels : 0;
  }
};

// How EncodeWav stores samples.
enum class WavSampleFormat {
  kPcm16,    // WAVE_FORMAT_PCM, 16 bits
  kFloat32,  // WAVE_FORMAT_IEEE_FLOAT, 32 bits (with the 'fact' chunk such files carry)
};

// Decodes the bytes of a WAV file. Chunks other than "fmt " and "data" (LIST, fact, cue, ...)
// are skipped, in any order; a data size of 0xFFFFFFFF (a stream whose writer could not seek back)
// means "to the end of the file". `name` (the path, typically) starts every error message.
// INVALID_ARGUMENT when the bytes are not RIFF/WAVE, a chunk is truncated, "fmt " or "data" is
// missing, the format is not 16-bit PCM or 32-bit float, or the header is inconsistent (zero
// channels or rate, a block size that does not match, data that is not whole frames).
absl::StatusOr<WavAudio> ParseWav(absl::string_view bytes, absl::string_view name);

// ParseWav of the file at `path`; the file error (NOT_FOUND, PERMISSION_DENIED, ...) naming the
// path when it cannot be read.
absl::StatusOr<WavAudio> ReadWav(const std::string& path);

// A canonical WAV file ("RIFF", "fmt ", ["fact",] "data") holding `audio`. kPcm16 clamps samples
// to [-1, 1] and rounds them to multiples of 1/32768 (so ParseWav gives back exactly what it was
// given when samples already are such multiples). REQUIRES: audio.channels > 0, a positive sample
// rate, and whole frames.
std::string EncodeWav(const WavAudio& audio, WavSampleFormat format);

}  // namespace speech

#endif  // SPEECH_CLIENT_SPEECH_WAV_FILE_H_
