#include "server/http/json/infer_response_json.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/tensor_types.h"
#include "server/http/json/tensor_json.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;
using ParameterMap = google::protobuf::Map<std::string, inference::InferParameter>;

Json ParameterValue(const inference::InferParameter& parameter) {
  switch (parameter.parameter_choice_case()) {
    case inference::InferParameter::kBoolParam:
      return parameter.bool_param();
    case inference::InferParameter::kInt64Param:
      return parameter.int64_param();
    case inference::InferParameter::kUint64Param:
      return parameter.uint64_param();
    case inference::InferParameter::kDoubleParam:
      return parameter.double_param();
    case inference::InferParameter::kStringParam:
      return parameter.string_param();
    default:
      return nullptr;
  }
}

// The parameters as a JSON object, keys in order (protobuf maps have none).
Json Parameters(const ParameterMap& parameters) {
  std::vector<std::string> keys;
  for (const auto& [key, value] : parameters) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  Json object = Json::object();
  for (const std::string& key : keys) object[key] = ParameterValue(parameters.at(key));
  return object;
}

}  // namespace

absl::StatusOr<RestInferReply> EncodeRestInferReply(inference::ModelInferResponse* response,
                                                    const OutputEncoding& encoding) {
  if (response->raw_output_contents_size() != response->outputs_size()) {
    return absl::InternalError(absl::StrCat("the response has ", response->outputs_size(),
                                            " outputs but ", response->raw_output_contents_size(),
                                            " raw output contents"));
  }
  Json reply = Json::object();
  if (!response->id().empty()) reply["id"] = response->id();
  reply["model_name"] = response->model_name();
  reply["model_version"] = response->model_version();
  if (!response->parameters().empty()) reply["parameters"] = Parameters(response->parameters());
  Json outputs = Json::array();
  std::vector<std::string*> binary;
  for (int i = 0; i < response->outputs_size(); ++i) {
    const auto& tensor = response->outputs(i);
    std::string* raw = response->mutable_raw_output_contents(i);
    Json output = {{"name", tensor.name()}, {"datatype", tensor.datatype()}};
    output["shape"] = std::vector<int64_t>(tensor.shape().begin(), tensor.shape().end());
    Json parameters = Parameters(tensor.parameters());
    if (tensor.parameters().contains("shared_memory_region")) {
      // Written into the client's region; the reply only says where.
    } else if (encoding.IsBinary(tensor.name())) {
      parameters["binary_data_size"] = raw->size();
      if (!raw->empty()) binary.push_back(raw);
    } else {
      absl::StatusOr<Json> data = RawTensorToJson(
          *raw, DataTypeFromWireName(tensor.datatype()),
          ElementCount(std::vector<int64_t>(tensor.shape().begin(), tensor.shape().end())),
          tensor.name());
      if (!data.ok()) return data.status();
      output["data"] = *std::move(data);
    }
    if (!parameters.empty()) output["parameters"] = std::move(parameters);
    outputs.push_back(std::move(output));
  }
  reply["outputs"] = std::move(outputs);
  RestInferReply encoded;
  encoded.body = reply.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (binary.empty()) return encoded;
  encoded.json_length = encoded.body.size();
  size_t total = encoded.body.size();
  for (const std::string* raw : binary) total += raw->size();
  encoded.body.reserve(total);
  for (std::string* raw : binary) {
    encoded.body.append(*raw);
    raw->clear();
    raw->shrink_to_fit();
  }
  return encoded;
}

}  // namespace speech
