// Recorded inputs that the performance analyzer replays (from a JSON input-data file or a folder
// of WAV files): one sample per batch row, holding a tensor per model input without the batch
// dimension; the shape rules the readers share; and how consecutive samples become requests.
// Pure functions over plain values.
#ifndef SPEECH_CLIENT_PERF_INPUTS_INPUT_SAMPLES_H_
#define SPEECH_CLIENT_PERF_INPUTS_INPUT_SAMPLES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/tensor_util.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// One batch row. A plain value type.
struct InputSample {
  std::string source;  // where it came from, for errors: "entry 3", "/data/a.wav"
  // One tensor per model input, in the metadata's order, shapes without the batch dimension.
  std::vector<HostTensor> tensors;
};

// The shape one row of `input` is expected to have: the input's entry in `shapes` (--shape,
// which excludes the batch dimension) when it has one, else its metadata shape less the leading
// batch dimension when `model_batches`. May hold -1 for variable dimensions.
std::vector<int64_t> ConfiguredShape(const inference::ModelMetadataResponse::TensorMetadata& input,
                                     bool model_batches,
                                     const std::map<std::string, std::vector<int64_t>>& shapes);

// `configured` with its one variable (-1) dimension sized so that the shape holds `count`
// elements, or `configured` itself when it is fixed and holds exactly `count`. INVALID_ARGUMENT
// when it has more than one variable dimension, or `count` elements do not fill it.
absl::StatusOr<std::vector<int64_t>> ShapeForCount(absl::Span<const int64_t> configured,
                                                   int64_t count);

// OK when an explicitly given `shape` fits `configured`: the same rank, no negative dimension,
// and equal wherever `configured` is fixed. INVALID_ARGUMENT quoting both otherwise.
absl::Status CheckShapeFits(absl::Span<const int64_t> shape, absl::Span<const int64_t> configured);

// How samples are grouped into requests. A plain value type.
struct SampleBatching {
  std::string model;
  std::string version;  // empty: the server's choice
  // Rows per request. Must be positive; above 1 only when `model_batches`.
  int64_t batch_size = 1;
  // Whether the model's inputs have a leading batch dimension (max_batch_size > 0).
  bool model_batches = false;
};

// One request per sample, in order: with N samples and batch size B, request k carries the rows
// samples[(k * B + j) % N] for j < B (consecutive samples, as NVIDIA's perf_analyzer takes
// consecutive data steps for the rows of a batch), stacked under a leading batch dimension when
// the model batches. INVALID_ARGUMENT for no samples, bad batching options, samples whose tensors
// do not match each other, or rows of one request whose shapes differ (naming both samples).
absl::StatusOr<std::vector<inference::ModelInferRequest>> BatchSamples(
    absl::Span<const InputSample> samples, const SampleBatching& batching);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_INPUTS_INPUT_SAMPLES_H_
