#include "client/perf/transport/http_infer_body.h"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;

absl::StatusOr<Json> ParameterJson(const std::string& key,
                                   const inference::InferParameter& parameter) {
  switch (parameter.parameter_choice_case()) {
    case inference::InferParameter::kBoolParam:
      return Json(parameter.bool_param());
    case inference::InferParameter::kInt64Param:
      return Json(parameter.int64_param());
    case inference::InferParameter::kStringParam:
      return Json(parameter.string_param());
    case inference::InferParameter::kDoubleParam:
      return Json(parameter.double_param());
    case inference::InferParameter::kUint64Param:
      return Json(parameter.uint64_param());
    case inference::InferParameter::PARAMETER_CHOICE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(absl::StrCat("request parameter \"", key, "\" has no value"));
}

absl::Status DataLoss(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("bad HTTP inference reply: ", why));
}

}  // namespace

absl::StatusOr<HttpInferBody> EncodeHttpInferRequest(const inference::ModelInferRequest& request) {
  if (request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the HTTP transport sends raw input contents only; the request has ", request.inputs_size(),
        " inputs and ", request.raw_input_contents_size(), " raw contents"));
  }
  Json header = Json::object();
  if (!request.id().empty()) header["id"] = request.id();
  Json& parameters = header["parameters"] = Json::object();
  // Sorted, so that the same request always makes the same bytes (protobuf maps are unordered).
  std::map<std::string, const inference::InferParameter*> sorted;
  for (const auto& [key, value] : request.parameters()) sorted[key] = &value;
  for (const auto& [key, value] : sorted) {
    absl::StatusOr<Json> json = ParameterJson(key, *value);
    if (!json.ok()) return json.status();
    parameters[key] = *std::move(json);
  }
  if (request.outputs().empty()) parameters["binary_data_output"] = true;
  if (parameters.empty()) header.erase("parameters");

  size_t binary_bytes = 0;
  Json& inputs = header["inputs"] = Json::array();
  for (int i = 0; i < request.inputs_size(); ++i) {
    const auto& input = request.inputs(i);
    const size_t size = request.raw_input_contents(i).size();
    binary_bytes += size;
    inputs.push_back({{"name", input.name()},
                      {"shape", std::vector<int64_t>(input.shape().begin(), input.shape().end())},
                      {"datatype", input.datatype()},
                      {"parameters", {{"binary_data_size", size}}}});
  }
  if (!request.outputs().empty()) {
    Json& outputs = header["outputs"] = Json::array();
    for (const auto& output : request.outputs()) {
      outputs.push_back({{"name", output.name()}, {"parameters", {{"binary_data", true}}}});
    }
  }

  HttpInferBody encoded;
  // Names are whatever the caller gave; invalid UTF-8 is replaced rather than thrown on.
  encoded.body = header.dump(-1, ' ', false, Json::error_handler_t::replace);
  encoded.json_length = encoded.body.size();
  encoded.body.reserve(encoded.json_length + binary_bytes);
  for (const std::string& raw : request.raw_input_contents()) encoded.body.append(raw);
  return encoded;
}

absl::Status CheckHttpInferReply(const inference::ModelInferRequest& request,
                                 std::optional<absl::string_view> json_length,
                                 absl::string_view body) {
  size_t header_bytes = body.size();
  if (json_length.has_value()) {
    uint64_t length = 0;
    if (!absl::SimpleAtoi(*json_length, &length) || length > body.size()) {
      return DataLoss(absl::StrCat(kInferenceHeaderContentLength, " is \"", *json_length,
                                   "\" but the body has ", body.size(), " bytes"));
    }
    header_bytes = static_cast<size_t>(length);
  }
  const Json header =
      Json::parse(body.substr(0, header_bytes), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) return DataLoss("its JSON header does not parse");
  const auto outputs = header.is_object() ? header.find("outputs") : header.end();
  if (outputs == header.end() || !outputs->is_array()) return DataLoss("it has no \"outputs\"");

  absl::flat_hash_set<std::string> names;
  // The bytes after the header, which the outputs' binary sections must fill exactly.
  const uint64_t binary_available = body.size() - header_bytes;
  uint64_t binary_bytes = 0;
  for (const Json& output : *outputs) {
    const auto name = output.is_object() ? output.find("name") : output.end();
    if (name == output.end() || !name->is_string()) return DataLoss("an output has no name");
    const auto parameters = output.find("parameters");
    const Json* size = nullptr;
    if (parameters != output.end() && parameters->is_object()) {
      const auto found = parameters->find("binary_data_size");
      if (found != parameters->end()) size = &*found;
    }
    if (size != nullptr) {
      if (!size->is_number_unsigned()) {
        return DataLoss(absl::StrCat("output ", name->get<std::string>(),
                                     " has a binary_data_size that is not a size"));
      }
      // Compared before adding: sizes from the network could otherwise wrap the sum around.
      if (size->get<uint64_t>() > binary_available - binary_bytes) {
        return DataLoss(absl::StrCat("its outputs' binary_data_size add up to more than the ",
                                     binary_available, " bytes that follow the JSON header"));
      }
      binary_bytes += size->get<uint64_t>();
    } else if (!output.contains("data")) {
      return DataLoss(absl::StrCat("output ", name->get<std::string>(),
                                   " has neither \"data\" nor a binary_data_size"));
    }
    names.insert(name->get<std::string>());
  }
  if (binary_bytes != binary_available) {
    return DataLoss(absl::StrCat("its outputs' binary_data_size add up to ", binary_bytes,
                                 " bytes, but ", binary_available, " follow the JSON header"));
  }
  if (request.outputs().empty() && names.empty()) return DataLoss("it has no outputs");
  for (const auto& output : request.outputs()) {
    if (!names.contains(output.name())) {
      return DataLoss(absl::StrCat("requested output ", output.name(), " is missing"));
    }
  }
  return absl::OkStatus();
}

}  // namespace speech
