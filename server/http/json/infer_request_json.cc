#include "server/http/json/infer_request_json.h"

#include <limits>
#include <nlohmann/json.hpp>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "proto/tensor_types.h"
#include "server/http/json/tensor_json.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;
using InputMessage = inference::ModelInferRequest::InferInputTensor;
using ParameterMap = google::protobuf::Map<std::string, inference::InferParameter>;

constexpr char kHeader[] = "Inference-Header-Content-Length";

// The member `key` of `object`, or nullptr.
const Json* Member(const Json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A parameter value as gRPC carries it: bool, int64 (uint64 beyond int64), double or string.
absl::Status ToParameter(const std::string& where, const Json& value,
                         inference::InferParameter* parameter) {
  if (value.is_boolean()) {
    parameter->set_bool_param(value.get<bool>());
  } else if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      parameter->set_uint64_param(u);
    } else {
      parameter->set_int64_param(static_cast<int64_t>(u));
    }
  } else if (value.is_number_integer()) {
    parameter->set_int64_param(value.get<int64_t>());
  } else if (value.is_number()) {
    parameter->set_double_param(value.get<double>());
  } else if (value.is_string()) {
    parameter->set_string_param(value.get<std::string>());
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(where, " must be a bool, a number or a string; got ", DescribeJson(value)));
  }
  return absl::OkStatus();
}

// Copies the members of a "parameters" object into `out`, but for those `skip` takes.
template <typename Skip>
absl::Status ToParameters(const std::string& where, const Json* parameters, ParameterMap* out,
                          Skip skip) {
  if (parameters == nullptr) return absl::OkStatus();
  if (!parameters->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "'parameters' must be an object; got ", DescribeJson(*parameters)));
  }
  for (const auto& [key, value] : parameters->items()) {
    if (skip(key)) continue;
    if (absl::Status status =
            ToParameter(absl::StrCat(where, "parameter '", key, "'"), value, &(*out)[key]);
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> StringMember(const Json& object, const char* key,
                                         const std::string& where) {
  const Json* value = Member(object, key);
  if (value == nullptr || !value->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "'", key, "' must be a string; got ",
                     value == nullptr ? std::string("nothing") : DescribeJson(*value)));
  }
  return value->get<std::string>();
}

absl::Status ParseShape(const Json& input, const std::string& name, InputMessage* message) {
  const Json* shape = Member(input, "shape");
  bool valid = shape != nullptr && shape->is_array();
  for (size_t i = 0; valid && i < shape->size(); ++i) {
    valid =
        (*shape)[i].is_number_unsigned() &&
        (*shape)[i].get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (valid) message->add_shape((*shape)[i].get<int64_t>());
  }
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", name, "': 'shape' must be an array of non-negative integers; got ",
                     shape == nullptr ? std::string("nothing") : DescribeJson(*shape)));
  }
  return absl::OkStatus();
}

// Where the binary data of the inputs comes from: the bytes after the JSON, taken in input order.
struct BinarySection {
  absl::string_view bytes;
  size_t taken = 0;
  std::optional<size_t> json_length;
};

// The declared binary_data_size of `input`, or nullopt when it names none.
absl::StatusOr<std::optional<uint64_t>> BinaryDataSize(const Json* parameters,
                                                       const std::string& name) {
  if (parameters == nullptr || !parameters->is_object()) return std::optional<uint64_t>();
  const Json* size = Member(*parameters, "binary_data_size");
  if (size == nullptr) return std::optional<uint64_t>();
  if (!size->is_number_unsigned()) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", name, "': 'binary_data_size' must be a non-negative integer; got ",
                     DescribeJson(*size)));
  }
  return std::optional<uint64_t>(size->get<uint64_t>());
}

absl::Status TakeBinary(const std::string& name, uint64_t size, BinarySection* binary,
                        std::string* out) {
  if (!binary->json_length.has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("input '", name, "' has 'binary_data_size' ",
                                                   size, " but the request has no ", kHeader,
                                                   " header to say where its JSON ends"));
  }
  const size_t left = binary->bytes.size() - binary->taken;
  if (size > left) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", name, "': 'binary_data_size' is ", size, " bytes but only ", left,
                     " bytes of binary data remain (", kHeader, ": ", *binary->json_length,
                     ", body: ", *binary->json_length + binary->bytes.size(), " bytes)"));
  }
  const absl::string_view taken = binary->bytes.substr(binary->taken, size);
  out->assign(taken.data(), taken.size());
  binary->taken += size;
  return absl::OkStatus();
}

absl::Status ParseInput(const Json& input, size_t index, BinarySection* binary,
                        inference::ModelInferRequest* message) {
  if (!input.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("inputs[", index, "] must be an object; got ", DescribeJson(input)));
  }
  absl::StatusOr<std::string> name =
      StringMember(input, "name", absl::StrCat("inputs[", index, "]: "));
  if (!name.ok()) return name.status();
  InputMessage* tensor = message->add_inputs();
  tensor->set_name(*name);
  const std::string where = absl::StrCat("input '", *name, "': ");
  absl::StatusOr<std::string> datatype = StringMember(input, "datatype", where);
  if (!datatype.ok()) return datatype.status();
  const DataType type = DataTypeFromWireName(*datatype);
  if (type == inference::TYPE_INVALID) {
    return absl::InvalidArgumentError(absl::StrCat(where, "unknown datatype '", *datatype, "'"));
  }
  tensor->set_datatype(*datatype);
  if (absl::Status status = ParseShape(input, *name, tensor); !status.ok()) return status;
  const Json* parameters = Member(input, "parameters");
  absl::StatusOr<std::optional<uint64_t>> binary_size = BinaryDataSize(parameters, *name);
  if (!binary_size.ok()) return binary_size.status();
  if (absl::Status status =
          ToParameters(where, parameters, tensor->mutable_parameters(),
                       [](const std::string& key) { return key == "binary_data_size"; });
      !status.ok()) {
    return status;
  }
  const Json* data = Member(input, "data");
  if (parameters != nullptr && Member(*parameters, "shared_memory_region") != nullptr) {
    // Its bytes are in the region (the core reads them); the message carries no contents for it.
    if (data != nullptr || binary_size->has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, "takes its data from a shared-memory region, so it must have neither 'data' nor ",
          "parameters.binary_data_size; got ", data != nullptr ? "'data'" : "binary_data_size"));
    }
    return absl::OkStatus();
  }
  if ((data != nullptr) == binary_size->has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, "needs exactly one of 'data' and parameters.binary_data_size; got ",
                     data != nullptr ? "both" : "neither"));
  }
  std::string* raw = message->add_raw_input_contents();
  if (binary_size->has_value()) return TakeBinary(*name, **binary_size, binary, raw);
  absl::StatusOr<std::string> converted = JsonToRawTensor(
      *data, type, std::vector<int64_t>(tensor->shape().begin(), tensor->shape().end()), *name);
  if (!converted.ok()) return converted.status();
  *raw = *std::move(converted);
  return absl::OkStatus();
}

absl::Status ParseOutput(const Json& output, size_t index, RestInferRequest* request) {
  if (!output.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("outputs[", index, "] must be an object; got ", DescribeJson(output)));
  }
  absl::StatusOr<std::string> name =
      StringMember(output, "name", absl::StrCat("outputs[", index, "]: "));
  if (!name.ok()) return name.status();
  const std::string where = absl::StrCat("output '", *name, "': ");
  auto* tensor = request->message.add_outputs();
  tensor->set_name(*name);
  bool binary = false;
  const Json* parameters = Member(output, "parameters");
  if (parameters != nullptr && parameters->is_object()) {
    if (Member(*parameters, "classification") != nullptr) {
      return absl::UnimplementedError(
          absl::StrCat(where, "the classification extension is not supported"));
    }
    if (const Json* flag = Member(*parameters, "binary_data"); flag != nullptr) {
      if (!flag->is_boolean()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, "'binary_data' must be true or false; got ", DescribeJson(*flag)));
      }
      binary = flag->get<bool>();
    }
  }
  request->outputs.named.emplace_back(*name, binary);
  return ToParameters(where, parameters, tensor->mutable_parameters(),
                      [](const std::string& key) { return key == "binary_data"; });
}

// "[json.exception.parse_error.101] parse error at line 1, column 9: ..." without the tag.
absl::string_view Untagged(const Json::exception& error) {
  absl::string_view what = error.what();
  const size_t tag_end = what.find("] ");
  if (absl::StartsWith(what, "[json.exception.") && tag_end != absl::string_view::npos) {
    what.remove_prefix(tag_end + 2);
  }
  return what;
}

absl::StatusOr<Json> ParseJson(absl::string_view text) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& error) {
    return absl::InvalidArgumentError(absl::StrCat("the request's JSON is malformed (byte ",
                                                   error.byte, " of ", text.size(),
                                                   "): ", Untagged(error)));
  } catch (const Json::out_of_range& error) {
    // A number no double holds (such as 1e999) is out_of_range, not a parse_error.
    return absl::InvalidArgumentError(
        absl::StrCat("the request's JSON is malformed: ", Untagged(error)));
  }
}

absl::Status ParseTopLevel(const Json& document, BinarySection* binary, RestInferRequest* request) {
  inference::ModelInferRequest& message = request->message;
  if (const Json* id = Member(document, "id"); id != nullptr) {
    if (!id->is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'id' must be a string; got ", DescribeJson(*id)));
    }
    message.set_id(id->get<std::string>());
  }
  const Json* parameters = Member(document, "parameters");
  if (parameters != nullptr && parameters->is_object()) {
    if (const Json* flag = Member(*parameters, "binary_data_output"); flag != nullptr) {
      if (!flag->is_boolean()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "parameter 'binary_data_output' must be true or false; got ", DescribeJson(*flag)));
      }
      request->outputs.binary_by_default = flag->get<bool>();
    }
  }
  if (absl::Status status =
          ToParameters("", parameters, message.mutable_parameters(),
                       [](const std::string& key) { return key == "binary_data_output"; });
      !status.ok()) {
    return status;
  }
  const Json* inputs = Member(document, "inputs");
  if (inputs == nullptr || !inputs->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'inputs' must be an array of input tensors; got ",
                     inputs == nullptr ? std::string("nothing") : DescribeJson(*inputs)));
  }
  for (size_t i = 0; i < inputs->size(); ++i) {
    if (absl::Status status = ParseInput((*inputs)[i], i, binary, &message); !status.ok()) {
      return status;
    }
  }
  if (binary->taken != binary->bytes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the body has ", binary->bytes.size() - binary->taken,
                     " bytes of binary data beyond what the inputs declare (", binary->taken,
                     " bytes in 'binary_data_size')"));
  }
  const Json* outputs = Member(document, "outputs");
  if (outputs == nullptr) return absl::OkStatus();
  if (!outputs->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'outputs' must be an array; got ", DescribeJson(*outputs)));
  }
  for (size_t i = 0; i < outputs->size(); ++i) {
    if (absl::Status status = ParseOutput((*outputs)[i], i, request); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

bool OutputEncoding::IsBinary(absl::string_view output) const {
  for (const auto& [name, binary] : named) {
    if (name == output) return binary;
  }
  return binary_by_default;
}

absl::StatusOr<size_t> ParseJsonHeaderLength(absl::string_view header, size_t body_bytes) {
  uint64_t length = 0;
  if (!absl::SimpleAtoi(header, &length)) {
    return absl::InvalidArgumentError(absl::StrCat(kHeader, " '", header, "' is not a byte count"));
  }
  if (length == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        kHeader, " is 0: a body of raw binary data without a JSON request is not supported"));
  }
  if (length > body_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(kHeader, " is ", length, " but the body has only ", body_bytes, " bytes"));
  }
  return static_cast<size_t>(length);
}

absl::Status ParseRestInferRequest(absl::string_view body, std::optional<size_t> json_length,
                                   RestInferRequest* request) {
  const size_t header = json_length.value_or(body.size());
  absl::StatusOr<Json> document = ParseJson(body.substr(0, header));
  if (!document.ok()) return document.status();
  if (!document->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the request must be a JSON object; got ", DescribeJson(*document)));
  }
  BinarySection binary{body.substr(header), 0, json_length};
  return ParseTopLevel(*document, &binary, request);
}

}  // namespace speech
