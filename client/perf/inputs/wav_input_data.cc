#include "client/perf/inputs/wav_input_data.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/speech/wav_file.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

bool IsWavFile(const fs::directory_entry& entry) {
  std::error_code error;
  return entry.is_regular_file(error) &&
         absl::AsciiStrToLower(entry.path().extension().string()) == ".wav";
}

std::vector<fs::path> WavFiles(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (IsWavFile(entry)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// The model's one FP32 input, or why the model does not have one.
absl::StatusOr<const inference::ModelMetadataResponse::TensorMetadata*> AudioInput(
    const inference::ModelMetadataResponse& metadata) {
  if (metadata.inputs_size() == 1 && metadata.inputs(0).datatype() == "FP32") {
    return &metadata.inputs(0);
  }
  std::vector<std::string> inputs;
  for (const auto& input : metadata.inputs()) {
    inputs.push_back(absl::StrCat(input.name(), " ", input.datatype()));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("a folder of WAV files needs a model with a single FP32 audio input; model ",
                   metadata.name(), " has inputs [", absl::StrJoin(inputs, ", "), "]"));
}

}  // namespace

bool HoldsWavFiles(const std::string& dir) {
  std::error_code error;
  if (!fs::is_directory(dir, error)) return false;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, error)) {
    if (IsWavFile(entry)) return true;
  }
  return false;
}

absl::StatusOr<std::vector<InputSample>> ReadWavDirectory(
    const std::string& dir, const inference::ModelMetadataResponse& metadata,
    const WavInputOptions& options) {
  if (options.sample_rate_hz <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("sample rate must be positive; was ", options.sample_rate_hz));
  }
  absl::StatusOr<const inference::ModelMetadataResponse::TensorMetadata*> input =
      AudioInput(metadata);
  if (!input.ok()) return input.status();
  const std::vector<int64_t> configured =
      ConfiguredShape(**input, options.model_batches, options.shapes);
  const std::vector<fs::path> files = WavFiles(dir);
  if (files.empty()) return absl::InvalidArgumentError(absl::StrCat(dir, " holds no .wav file"));
  std::vector<InputSample> samples;
  for (const fs::path& file : files) {
    const std::string path = file.string();
    absl::StatusOr<WavAudio> audio = ReadWav(path);
    if (!audio.ok()) return audio.status();
    if (audio->channels != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": ", audio->channels, " channels; the model takes mono audio (no mixing down)"));
    }
    if (audio->sample_rate != options.sample_rate_hz) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": sample rate ", audio->sample_rate, " Hz; the model expects ",
                       options.sample_rate_hz, " Hz (--sample-rate; files are not resampled)"));
    }
    if (audio->samples.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no audio"));
    absl::StatusOr<std::vector<int64_t>> shape =
        ShapeForCount(configured, static_cast<int64_t>(audio->samples.size()));
    if (!shape.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": input \"", (*input)->name(), "\": ", shape.status().message()));
    }
    HostTensor tensor;
    tensor.name = (*input)->name();
    tensor.datatype = "FP32";
    tensor.shape = *std::move(shape);
    tensor.bytes.resize(audio->samples.size() * sizeof(float));
    std::memcpy(tensor.bytes.data(), audio->samples.data(), tensor.bytes.size());
    samples.push_back(InputSample{path, {std::move(tensor)}});
  }
  return samples;
}

}  // namespace speech
