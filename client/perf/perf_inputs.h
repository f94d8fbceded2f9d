// The requests the performance analyzer sends: built once before measuring from the model's
// metadata and the command line (generated zeros or random values, fixed shapes or lengths drawn
// from a range, or raw files replayed from a directory), then cycled through.
#ifndef SPEECH_CLIENT_PERF_PERF_INPUTS_H_
#define SPEECH_CLIENT_PERF_PERF_INPUTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
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
  // Size of variable dimensions not fixed by `shapes`: `length`, or for each request a length
  // drawn uniformly from [min, max] (inclusive) when `length_range` is set.
  int64_t length = 128;
  std::optional<std::pair<int64_t, int64_t>> length_range;
  // How generated inputs are filled; integers are drawn from [int_low, int_high).
  FillMode fill_mode = FillMode::kRandom;
  int64_t int_low = 1;
  int64_t int_high = 100;
  // Distinct generated requests (different values, and lengths when `length_range` is set).
  // Must be positive.
  int sample_count = 16;
  uint64_t seed = 0;
  // A directory of raw little-endian input files. Either it holds one file per input, named
  // after the input (one request), or one subdirectory per request holding such files, used in
  // name order. Variable dimensions come from the file sizes (or `shapes`).
  std::string input_data_dir;
};

// The requests to cycle through, in order. INVALID_ARGUMENT for bad options or inputs the model
// does not have; file errors as ReadInputFile reports them.
absl::StatusOr<std::vector<inference::ModelInferRequest>> BuildPerfRequests(
    const inference::ModelMetadataResponse& metadata, const PerfInputOptions& options);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_PERF_INPUTS_H_
