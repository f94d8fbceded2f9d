#include "client/perf/perf_inputs.h"

#include <algorithm>
#include <filesystem>
#include <random>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "client/infer_inputs.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

// The per-request sample directories of `dir`: `dir` itself when it holds a file for every
// input, else its subdirectories in name order.
absl::StatusOr<std::vector<fs::path>> SampleDirectories(
    const std::string& dir, const inference::ModelMetadataResponse& metadata) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) {
    return absl::NotFoundError(absl::StrCat("--input-data: ", dir, " is not a directory"));
  }
  bool has_all = true;
  for (const auto& input : metadata.inputs()) {
    has_all = has_all && fs::is_regular_file(fs::path(dir) / input.name(), error);
  }
  if (has_all) return std::vector<fs::path>{fs::path(dir)};
  std::vector<fs::path> samples;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (entry.is_directory()) samples.push_back(entry.path());
  }
  std::sort(samples.begin(), samples.end());
  if (samples.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--input-data: ", dir,
                     " holds neither a file per input (named after the input) nor "
                     "subdirectories of such files"));
  }
  return samples;
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
      (options.length_range->first <= 0 ||
       options.length_range->first > options.length_range->second)) {
    return absl::InvalidArgumentError("length range must be MIN:MAX with 0 < MIN <= MAX");
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

  std::vector<inference::ModelInferRequest> requests;
  auto add = [&](const InputSpec& sample) -> absl::Status {
    absl::StatusOr<std::vector<HostTensor>> tensors = BuildInputs(metadata, sample);
    if (!tensors.ok()) return tensors.status();
    requests.push_back(MakeInferRequest(options.model, options.version, *tensors, {}));
    return absl::OkStatus();
  };
  if (!options.input_data_dir.empty()) {
    absl::StatusOr<std::vector<fs::path>> samples =
        SampleDirectories(options.input_data_dir, metadata);
    if (!samples.ok()) return samples.status();
    for (const fs::path& dir : *samples) {
      InputSpec sample = spec;
      for (const auto& input : metadata.inputs()) {
        sample.files[input.name()] = (dir / input.name()).string();
      }
      absl::Status added = add(sample);
      if (!added.ok()) return added;
    }
    return requests;
  }
  std::mt19937_64 random(options.seed);
  for (int i = 0; i < options.sample_count; ++i) {
    InputSpec sample = spec;
    sample.seed = options.seed + 1000 * static_cast<uint64_t>(i);
    if (options.length_range.has_value()) {
      std::uniform_int_distribution<int64_t> lengths(options.length_range->first,
                                                     options.length_range->second);
      sample.length = lengths(random);
    }
    absl::Status added = add(sample);
    if (!added.ok()) return added;
  }
  return requests;
}

}  // namespace speech
