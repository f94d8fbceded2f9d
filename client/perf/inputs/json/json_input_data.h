// Triton's JSON input-data format, as NVIDIA's perf_analyzer reads it with --input-data=FILE.json:
//   {"data": [{"INPUT": <tensor>, ...}, ...]}
// one batch row per entry of "data" (shapes may differ between entries), each tensor as
// json_tensor.h describes. Other top-level members ("validation_data", ...) are ignored;
// sequence streams (entries that are arrays of steps) are refused. Pure functions but for
// reading the named file.
#ifndef SPEECH_CLIENT_PERF_INPUTS_JSON_JSON_INPUT_DATA_H_
#define SPEECH_CLIENT_PERF_INPUTS_JSON_JSON_INPUT_DATA_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/perf/inputs/input_samples.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// A plain value type.
struct JsonInputOptions {
  // Whether the model's metadata shapes start with the batch dimension (max_batch_size > 0).
  bool model_batches = false;
  // --shape values by input name, without the batch dimension: the shape a bare array of values
  // is read as, and what an explicit "shape" must fit.
  std::map<std::string, std::vector<int64_t>> shapes;
};

// One sample per entry of "data", in order, with a tensor per input of `metadata`. `name` (the
// file) starts every error message. INVALID_ARGUMENT for text that is not JSON, a document
// without a non-empty "data" array, or an entry that misses one of the model's inputs, names an
// input the model does not have, or holds a tensor json_tensor.h refuses; the message names the
// entry's index, the input and the problem.
absl::StatusOr<std::vector<InputSample>> ParseJsonInputData(
    absl::string_view text, const inference::ModelMetadataResponse& metadata,
    const JsonInputOptions& options, absl::string_view name);

// ParseJsonInputData of the file at `path`; the file error naming the path when it cannot be
// read.
absl::StatusOr<std::vector<InputSample>> ReadJsonInputData(
    const std::string& path, const inference::ModelMetadataResponse& metadata,
    const JsonInputOptions& options);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_INPUTS_JSON_JSON_INPUT_DATA_H_
