// A folder of WAV files as the performance analyzer's requests (--input-data=DIR where DIR holds
// *.wav files): each file is one batch row of the model's single FP32 audio input, its length the
// file's. Audio is never resampled or mixed down: a file at another rate than the model expects
// or with more than one channel is refused. Reads the folder and its files; otherwise pure.
#ifndef SPEECH_CLIENT_PERF_INPUTS_WAV_INPUT_DATA_H_
#define SPEECH_CLIENT_PERF_INPUTS_WAV_INPUT_DATA_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/perf/inputs/input_samples.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// A plain value type.
struct WavInputOptions {
  // Whether the model's metadata shapes start with the batch dimension (max_batch_size > 0).
  bool model_batches = false;
  // --shape values by input name, without the batch dimension; the audio input's shape (else its
  // metadata's) must have one variable dimension, which each file's frame count sizes.
  std::map<std::string, std::vector<int64_t>> shapes;
  // The sample rate the model expects, in Hz (--sample-rate). Must be positive.
  int sample_rate_hz = 16000;
};

// Whether `dir` is a directory that directly holds at least one file named *.wav (any case).
bool HoldsWavFiles(const std::string& dir);

// One sample per *.wav file directly in `dir`, in name order; its source is the file's path.
// INVALID_ARGUMENT when the model does not have exactly one input of datatype FP32, when the
// folder holds no WAV file, or for a file that is not a 16-bit PCM or 32-bit float WAV, is not
// mono, has another sample rate than `options.sample_rate_hz`, or holds no frames (the message
// names the file and what was found); the file error when one cannot be read.
absl::StatusOr<std::vector<InputSample>> ReadWavDirectory(
    const std::string& dir, const inference::ModelMetadataResponse& metadata,
    const WavInputOptions& options);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_INPUTS_WAV_INPUT_DATA_H_
