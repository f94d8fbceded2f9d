#include "client/perf/inputs/perf_inputs.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <random>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/infer_inputs.h"
#include "client/perf/inputs/input_samples.h"
#include "client/perf/inputs/json/json_input_data.h"
#include "client/perf/inputs/wav_input_data.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

// Whether `dir` holds a file for every input, named after it.
bool HoldsFilePerInput(const std::string& dir, const inference::ModelMetadataResponse& metadata) {
  std::error_code error;
  bool has_all = metadata.inputs_size() > 0;
  for (const auto& input : metadata.inputs()) {
    has_all = has_all && fs::is_regular_file(fs::path(dir) / input.name(), error);
  }
  return has_all;
}

// The per-request sample directories of `dir`: `dir` itself when it holds a file for every
// input, else its subdirectories in name order.
absl::StatusOr<std::vector<fs::path>> SampleDirectories(
    const std::string& dir, const inference::ModelMetadataResponse& metadata) {
  if (HoldsFilePerInput(dir, metadata)) return std::vector<fs::path>{fs::path(dir)};
  std::error_code error;
  std::vector<fs::path> samples;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_directory()) samples.push_back(entry.path());
  }
  std::sort(samples.begin(), samples.end());
  if (samples.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--input-data: ", dir,
                     " holds neither a file per input (named after the input), nor .wav files, "
                     "nor subdirectories of files per input"));
  }
  return samples;
}

// A directory of raw files (or of subdirectories of them) as requests.
absl::StatusOr<std::vector<inference::ModelInferRequest>> RawFileRequests(
    const inference::ModelMetadataResponse& metadata, const PerfInputOptions& options,
    const InputSpec& spec) {
  absl::StatusOr<std::vector<fs::path>> samples = SampleDirectories(options.input_data, metadata);
  if (!samples.ok()) return samples.status();
  std::vector<inference::ModelInferRequest> requests;
  for (const fs::path& dir : *samples) {
    InputSpec sample = spec;
    for (const auto& input : metadata.inputs()) {
      sample.files[input.name()] = (dir / input.name()).string();
    }
    absl::StatusOr<std::vector<HostTensor>> tensors = BuildInputs(metadata, sample);
    if (!tensors.ok()) return tensors.status();
    requests.push_back(MakeInferRequest(options.model, options.version, *tensors, {}));
  }
  return requests;
}

// A JSON input-data file or a folder of WAV files as samples, or nullopt when `options.input_data`
// is a directory of raw files.
absl::StatusOr<std::optional<std::vector<InputSample>>> RecordedSamples(
    const inference::ModelMetadataResponse& metadata, const PerfInputOptions& options) {
  const std::string& path = options.input_data;
  std::error_code error;
  if (fs::is_regular_file(path, error)) {
    JsonInputOptions json;
    json.model_batches = options.model_batches;
    json.shapes = options.shapes;
    return ReadJsonInputData(path, metadata, json);
  }
  if (!fs::exists(path, error)) return absl::NotFoundError(absl::StrCat(path, " does not exist"));
  if (!fs::is_directory(path, error)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is neither a JSON input-data file nor a directory"));
  }
  if (HoldsFilePerInput(path, metadata) || !HoldsWavFiles(path)) return std::nullopt;
  WavInputOptions wav;
  wav.model_batches = options.model_batches;
  wav.shapes = options.shapes;
  wav.sample_rate_hz = options.sample_rate_hz;
  return ReadWavDirectory(path, metadata, wav);
}

// Requests from `options.input_data`; errors start with "--input-data: ".
absl::StatusOr<std::vector<inference::ModelInferRequest>> RecordedRequests(
    const inference::ModelMetadataResponse& metadata, const PerfInputOptions& options,
    const InputSpec& spec) {
  for (const auto& [name, dims] : options.shapes) {
    bool known = false;
    for (const auto& input : metadata.inputs()) known = known || input.name() == name;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--shape names input \"", name, "\", which model ", metadata.name(), " does not have"));
    }
  }
  absl::StatusOr<std::optional<std::vector<InputSample>>> samples =
      RecordedSamples(metadata, options);
  if (!samples.ok()) {
    return absl::Status(samples.status().code(),
                        absl::StrCat("--input-data: ", samples.status().message()));
  }
  if (!samples->has_value()) return RawFileRequests(metadata, options, spec);
  SampleBatching batching;
  batching.model = options.model;
  batching.version = options.version;
  batching.batch_size = options.batch_size;
  batching.model_batches = options.model_batches;
  absl::StatusOr<std::vector<inference::ModelInferRequest>> requests =
      BatchSamples(**samples, batching);
  if (!requests.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--input-data: ", options.input_data, ": ", requests.status().message()));
  }
  return requests;
}

}  // namespace

absl::StatusOr<std::vector<inference::ModelInferRequest>> BuildPerfRequests(
    const inference::ModelMetadataResponse& metadata, const PerfInputOptions& options) {
  if (options.batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be positive; was ", options.batch_size));
  }
  if (options.batch_size > 1 && !options.model_batches) {
    return absl::InvalidArgumentError(
        absl::StrCat("model ", metadata.name(), " does not batch; --batch-size must be 1"));
  }
  if (options.sample_count <= 0) {
    return absl::InvalidArgumentError("sample count must be positive");
  }
  if (options.length_range.has_value() &&
      (options.length_range->min <= 0 || options.length_range->min > options.length_range->max)) {
    return absl::InvalidArgumentError(
        absl::StrCat("length range must be MIN:MAX with 0 < MIN <= MAX; was ",
                     options.length_range->min, ":", options.length_range->max));
  }
  InputSpec spec;
  spec.batch_size = options.batch_size;
  spec.length = options.length;
  spec.model_batches = options.model_batches;
  spec.fill_mode = options.fill_mode;
  spec.int_low = options.int_low;
  spec.int_high = options.int_high;
  for (const auto& [name, dims] : options.shapes) {
    std::vector<int64_t> full;
    if (options.model_batches) full.push_back(options.batch_size);
    full.insert(full.end(), dims.begin(), dims.end());
    spec.shapes[name] = std::move(full);
  }
  if (!options.input_data.empty()) return RecordedRequests(metadata, options, spec);

  std::vector<inference::ModelInferRequest> requests;
  std::mt19937_64 random(options.seed);
  for (int i = 0; i < options.sample_count; ++i) {
    InputSpec sample = spec;
    sample.seed = options.seed + 1000 * static_cast<uint64_t>(i);
    if (options.length_range.has_value()) sample.length = options.length_range->Draw(random);
    absl::StatusOr<std::vector<HostTensor>> tensors = BuildInputs(metadata, sample);
    if (!tensors.ok()) return tensors.status();
    requests.push_back(MakeInferRequest(options.model, options.version, *tensors, {}));
  }
  return requests;
}

}  // namespace speech
