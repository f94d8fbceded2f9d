#include "client/speech/speech_pipelines.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/tensor_util.h"
#include "proto/bytes_elements.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

// The output `name` of `response`; INVALID_ARGUMENT when it is absent or not `datatype`.
absl::StatusOr<HostTensor> FindOutput(const inference::ModelInferResponse& response,
                                      absl::string_view name, absl::string_view datatype) {
  absl::StatusOr<std::vector<HostTensor>> outputs = OutputsFromResponse(response);
  if (!outputs.ok()) return outputs.status();
  for (HostTensor& output : *outputs) {
    if (output.name != name) continue;
    if (output.datatype != datatype) {
      return absl::InvalidArgumentError(
          absl::StrCat("output ", name, " is ", output.datatype, "; expected ", datatype));
    }
    return std::move(output);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the reply of model \"", response.model_name(), "\" has no output ", name));
}

// `shape` without a leading 1 when it has `rank` + 1 dimensions; empty when it cannot be read as
// a tensor of `rank` dimensions.
std::vector<int64_t> DropLeadingOne(const std::vector<int64_t>& shape, size_t rank) {
  if (shape.size() == rank + 1 && shape[0] == 1) return {shape.begin() + 1, shape.end()};
  if (shape.size() == rank) return shape;
  return {};
}

}  // namespace

inference::ModelInferRequest MakeTtsRequest(absl::string_view model, absl::string_view version,
                                            absl::string_view text, bool want_mel) {
  HostTensor input;
  input.name = kTextInput;
  input.datatype = "BYTES";
  input.shape = {1, 1};
  AppendBytesElement(text, &input.bytes);
  std::vector<std::string> outputs = {kAudioTensor};
  if (want_mel) outputs.push_back(kMelOutput);
  return MakeInferRequest(model, version, {input}, outputs);
}

absl::StatusOr<TtsReply> ReadTtsReply(const inference::ModelInferResponse& response,
                                      bool want_mel) {
  absl::StatusOr<HostTensor> audio = FindOutput(response, kAudioTensor, "FP32");
  if (!audio.ok()) return audio.status();
  if (DropLeadingOne(audio->shape, 1).empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "output AUDIO has shape ", ShapeToString(audio->shape), "; expected [1, samples]"));
  }
  TtsReply reply;
  reply.audio = AsVector<float>(*audio);
  if (!want_mel) return reply;
  absl::StatusOr<HostTensor> mel = FindOutput(response, kMelOutput, "FP32");
  if (!mel.ok()) return mel.status();
  const std::vector<int64_t> dims = DropLeadingOne(mel->shape, 2);
  if (dims.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "output MEL has shape ", ShapeToString(mel->shape), "; expected [1, channels, frames]"));
  }
  reply.mel = AsVector<float>(*mel);
  reply.mel_channels = dims[0];
  reply.mel_frames = dims[1];
  return reply;
}

inference::ModelInferRequest MakeAsrRequest(absl::string_view model, absl::string_view version,
                                            absl::Span<const float> samples) {
  HostTensor input;
  input.name = kAudioTensor;
  input.datatype = "FP32";
  input.shape = {1, static_cast<int64_t>(samples.size())};
  input.bytes.assign(reinterpret_cast<const char*>(samples.data()), samples.size() * sizeof(float));
  return MakeInferRequest(model, version, {input}, {std::string(kTranscriptOutput)});
}

absl::StatusOr<std::string> ReadTranscript(const inference::ModelInferResponse& response) {
  absl::StatusOr<HostTensor> transcript = FindOutput(response, kTranscriptOutput, "BYTES");
  if (!transcript.ok()) return transcript.status();
  absl::StatusOr<std::vector<absl::string_view>> elements =
      SplitBytesElements(transcript->bytes, "output TRANSCRIPT");
  if (!elements.ok()) return elements.status();
  if (elements->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("output TRANSCRIPT holds ", elements->size(), " elements; expected 1"));
  }
  return std::string((*elements)[0]);
}

absl::Status CheckAsrAudio(const WavAudio& audio, absl::string_view path, int sample_rate) {
  if (audio.channels != 1) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", audio.channels,
                                                   " channels; asr takes mono; convert it: sox ",
                                                   path, " -c 1 mono.wav"));
  }
  if (audio.sample_rate != sample_rate) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": ", audio.sample_rate, " Hz; asr takes ", sample_rate,
        " Hz (--sample-rate); convert it: sox ", path, " -r ", sample_rate, " out.wav"));
  }
  if (audio.samples.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": no samples"));
  return absl::OkStatus();
}

int64_t SanitizeAudio(std::vector<float>* samples) {
  int64_t out_of_range = 0;
  for (float& sample : *samples) {
    if (!std::isfinite(sample)) {
      sample = 0;
      ++out_of_range;
    } else if (sample < -1.0f || sample > 1.0f) {
      ++out_of_range;
    }
  }
  return out_of_range;
}

}  // namespace speech
