#include "client/perf/inputs/json/json_input_data.h"

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/perf/inputs/json/json_tensor.h"

namespace speech {
namespace {

using Json = nlohmann::json;

std::string InputNames(const inference::ModelMetadataResponse& metadata) {
  std::vector<std::string> names;
  for (const auto& input : metadata.inputs()) names.push_back(input.name());
  return absl::StrCat("[", absl::StrJoin(names, ", "), "]");
}

// The sample of entry `index`. Errors start with "entry N".
absl::StatusOr<InputSample> ParseEntry(const Json& entry, size_t index,
                                       const inference::ModelMetadataResponse& metadata,
                                       const JsonInputOptions& options) {
  const std::string where = absl::StrCat("entry ", index);
  if (!entry.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": expected an object of inputs; got ",
                     entry.is_array() ? "an array (a sequence stream; sequences are not supported)"
                                      : entry.type_name()));
  }
  for (const auto& [key, value] : entry.items()) {
    bool known = false;
    for (const auto& input : metadata.inputs()) known = known || input.name() == key;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": unknown input \"", key, "\"; model ",
                                                     metadata.name(), " has inputs ",
                                                     InputNames(metadata)));
    }
  }
  InputSample sample;
  sample.source = where;
  for (const auto& input : metadata.inputs()) {
    const auto it = entry.find(input.name());
    if (it == entry.end()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": missing input \"", input.name(),
                                                     "\" (model ", metadata.name(), " has inputs ",
                                                     InputNames(metadata), ")"));
    }
    absl::StatusOr<HostTensor> tensor =
        JsonToTensor(*it, input.name(), input.datatype(),
                     ConfiguredShape(input, options.model_batches, options.shapes));
    if (!tensor.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": input \"", input.name(), "\" (",
                                                     input.datatype(),
                                                     "): ", tensor.status().message()));
    }
    sample.tensors.push_back(*std::move(tensor));
  }
  return sample;
}

}  // namespace

absl::StatusOr<std::vector<InputSample>> ParseJsonInputData(
    absl::string_view text, const inference::ModelMetadataResponse& metadata,
    const JsonInputOptions& options, absl::string_view name) {
  auto error = [&](absl::string_view what) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", what));
  };
  Json document;
  try {
    document = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    return error(absl::StrCat("not valid JSON (", e.what(), ")"));
  }
  const auto data = document.is_object() ? document.find("data") : document.end();
  if (!document.is_object() || data == document.end() || !data->is_array()) {
    return error("expected an object whose \"data\" member is an array of entries");
  }
  if (data->empty()) return error("\"data\" has no entries");
  std::vector<InputSample> samples;
  samples.reserve(data->size());
  for (size_t i = 0; i < data->size(); ++i) {
    absl::StatusOr<InputSample> sample = ParseEntry((*data)[i], i, metadata, options);
    if (!sample.ok()) return error(sample.status().message());
    samples.push_back(*std::move(sample));
  }
  return samples;
}

absl::StatusOr<std::vector<InputSample>> ReadJsonInputData(
    const std::string& path, const inference::ModelMetadataResponse& metadata,
    const JsonInputOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return absl::ErrnoToStatus(errno, absl::StrCat("cannot read ", path));
  return ParseJsonInputData(text.str(), metadata, options, path);
}

}  // namespace speech
