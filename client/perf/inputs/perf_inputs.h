// The requests the performance analyzer sends: built once before measuring from the model's
// metadata and the command line (generated zeros or random values, fixed shapes or lengths drawn
// from a range; or recorded data: a JSON input-data file, a folder of WAV files or raw files
// replayed from a folder), then cycled through.
#ifndef SPEECH_CLIENT_PERF_INPUTS_PERF_INPUTS_H_
#define SPEECH_CLIENT_PERF_INPUTS_PERF_INPUTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/perf/inputs/length_range.h"
#include "client/tensor_util.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// A plain value type.
struct PerfInputOptions {
  std::string model;
  std::string version;  // empty: the server's choice
  // Rows per request. Must be positive; above 1 only for a batching model.
  int64_t batch_size = 1;
  // Whether the model has a batch dimension (its config's max_batch_size > 0).
  bool model_batches = false;
  // Shapes by input name WITHOUT the batch dimension, as Triton's --shape takes them.
  std::map<std::string, std::vector<int64_t>> shapes;
  // Size of variable dimensions not fixed by `shapes`: `length`, or for each generated request a
  // length drawn uniformly from [min, max] (inclusive, with `seed`) when `length_range` is set.
  int64_t length = 128;
  std::optional<LengthRange> length_range;
  // How generated inputs are filled; integers are drawn from [int_low, int_high).
  FillMode fill_mode = FillMode::kRandom;
  int64_t int_low = 1;
  int64_t int_high = 100;
  // Distinct generated requests (different values, and lengths when `length_range` is set).
  // Must be positive.
  int sample_count = 16;
  uint64_t seed = 0;
  // Recorded inputs instead of generated ones (empty: generate). A regular file is read as
  // Triton's JSON input-data format (json_input_data.h): one batch row per entry, -b N rows
  // taken from N consecutive entries. A directory is, in this order of preference:
  //  - raw little-endian files, one per input, named after the input (one request);
  //  - *.wav files, one batch row each for the model's single FP32 input (wav_input_data.h);
  //  - one subdirectory per request holding raw files named after the inputs, in name order.
  // Variable dimensions of raw files come from the file sizes (or `shapes`).
  std::string input_data;
  // The sample rate WAV files must have, in Hz; they are never resampled.
  int sample_rate_hz = 16000;
};

// The requests to cycle through, in order. INVALID_ARGUMENT for bad options, inputs the model
// does not have or recorded data that does not fit the model (the message starts with
// "--input-data: " and names the file); file errors as the readers report them.
absl::StatusOr<std::vector<inference::ModelInferRequest>> BuildPerfRequests(
    const inference::ModelMetadataResponse& metadata, const PerfInputOptions& options);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_INPUTS_PERF_INPUTS_H_
