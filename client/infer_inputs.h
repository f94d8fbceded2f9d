// Turns a model's metadata and the command line's choices into concrete input tensors for one
// inference request: variable dimensions get sizes, each input is read from a file or generated.
// Pure functions, no I/O besides reading the named input files.
#ifndef SPEECH_CLIENT_INFER_INPUTS_H_
#define SPEECH_CLIENT_INFER_INPUTS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "client/tensor_util.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// What the user asked for. A plain value type.
struct InputSpec {
  // Size of the batch dimension; must be positive.
  int64_t batch_size = 1;

  // Size given to every variable (-1) dimension other than the batch dimension; must be positive.
  int64_t length = 128;

  // Whether the model batches, i.e. its metadata shapes start with a -1 batch dimension (as
  // Triton reports them when max_batch_size > 0). Unknown: a leading -1 of a shape with two or
  // more dimensions is taken as the batch dimension.
  std::optional<bool> model_batches;

  // Full shapes, batch dimension included, that replace the metadata's, by input name; a -1 in
  // them becomes `length`.
  std::map<std::string, std::vector<int64_t>> shapes;

  // Raw little-endian files by input name; the other inputs are generated. Without an entry in
  // `shapes`, a file input whose shape has exactly one variable non-batch dimension gets that
  // dimension from the file size.
  std::map<std::string, std::string> files;

  // How generated inputs are filled (see GenerateInput). Input i uses seed `seed + i`.
  FillMode fill_mode = FillMode::kRandom;
  uint64_t seed = 0;
  int64_t int_low = 1;
  int64_t int_high = 100;
};

// The concrete shape of an input whose metadata shape is `metadata_shape`: the batch dimension
// (the first, when `batched`) becomes `batch_size` and every other -1 becomes `length`.
std::vector<int64_t> ResolveShape(absl::Span<const int64_t> metadata_shape, bool batched,
                                  int64_t batch_size, int64_t length);

// One tensor per input of `metadata`, in the metadata's order. INVALID_ARGUMENT when `spec`
// names an input the model does not have or is otherwise inconsistent; file errors as
// ReadInputFile reports them.
absl::StatusOr<std::vector<HostTensor>> BuildInputs(
    const inference::ModelMetadataResponse& metadata, const InputSpec& spec);

// Command-line value parsers; each returns INVALID_ARGUMENT quoting the text it rejects.
// "NAME:rest" -> {"NAME", "rest"}; the name must not be empty.
absl::StatusOr<std::pair<std::string, std::string>> SplitNamedValue(absl::string_view text);
// "1,80,-1" -> {1, 80, -1}.
absl::StatusOr<std::vector<int64_t>> ParseDims(absl::string_view text);

// Adds each "--shape" flag value "NAME:D0,D1,..." to `shapes`; INVALID_ARGUMENT naming --shape
// for a malformed one.
absl::Status AddShapeFlags(absl::Span<const std::string> values,
                           std::map<std::string, std::vector<int64_t>>* shapes);
// "LO,HI" -> {LO, HI}, requiring LO < HI.
absl::StatusOr<std::pair<int64_t, int64_t>> ParseIntRange(absl::string_view text);

}  // namespace speech

#endif  // SPEECH_CLIENT_INFER_INPUTS_H_
