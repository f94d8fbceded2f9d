#include "server/http/json/control_json.h"

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"

namespace speech {
namespace {

using Json = nlohmann::json;

// `body` as a JSON object; an empty body is an empty object.
absl::Status ParseObject(absl::string_view body, absl::string_view what, Json* json) {
  if (body.empty()) {
    *json = Json::object();
    return absl::OkStatus();
  }
  *json = Json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (json->is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat("the ", what, " request is not valid JSON"));
  }
  if (!json->is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("the ", what, " request must be a JSON object; was ", json->type_name()));
  }
  return absl::OkStatus();
}

using Parameters = google::protobuf::Map<std::string, inference::ModelRepositoryParameter>;

absl::Status ParseParameters(const Json& json, absl::string_view what, Parameters* parameters) {
  auto found = json.find("parameters");
  if (found == json.end()) return absl::OkStatus();
  if (!found->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "'parameters' of the ", what, " request must be an object; was ", found->type_name()));
  }
  for (const auto& [key, value] : found->items()) {
    inference::ModelRepositoryParameter& parameter = (*parameters)[key];
    if (value.is_string()) {
      parameter.set_string_param(value.get<std::string>());
    } else if (value.is_boolean()) {
      parameter.set_bool_param(value.get<bool>());
    } else if (value.is_number_integer()) {
      parameter.set_int64_param(value.get<int64_t>());
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "parameter '", key, "' of the ", what,
          " request must be a string, a boolean or an integer; was ", value.type_name()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseIndexRequest(absl::string_view body, inference::RepositoryIndexRequest* request) {
  Json json;
  if (absl::Status status = ParseObject(body, "repository index", &json); !status.ok()) {
    return status;
  }
  if (auto ready = json.find("ready"); ready != json.end()) {
    if (!ready->is_boolean()) {
      return absl::InvalidArgumentError(
          absl::StrCat("'ready' of the repository index request must be true or false; was ",
                       ready->type_name()));
    }
    request->set_ready(ready->get<bool>());
  }
  return absl::OkStatus();
}

absl::Status ParseLoadRequest(absl::string_view body,
                              inference::RepositoryModelLoadRequest* request) {
  Json json;
  if (absl::Status status = ParseObject(body, "model load", &json); !status.ok()) return status;
  return ParseParameters(json, "model load", request->mutable_parameters());
}

absl::Status ParseUnloadRequest(absl::string_view body,
                                inference::RepositoryModelUnloadRequest* request) {
  Json json;
  if (absl::Status status = ParseObject(body, "model unload", &json); !status.ok()) return status;
  return ParseParameters(json, "model unload", request->mutable_parameters());
}

absl::Status ParseSharedMemoryRegisterRequest(
    absl::string_view body, const std::string& name,
    inference::SystemSharedMemoryRegisterRequest* request) {
  constexpr char kWhat[] = "shared-memory register";
  Json json;
  if (absl::Status status = ParseObject(body, kWhat, &json); !status.ok()) return status;
  auto field = [&](const char* key) {
    auto found = json.find(key);
    return found == json.end() ? Json() : *found;
  };
  const Json key = field("key");
  if (!key.is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'key' of the ", kWhat, " request must be a string; was ", key.type_name()));
  }
  const Json offset = field("offset");
  const Json byte_size = field("byte_size");
  auto size_error = [&](const char* label, const Json& value) {
    return absl::InvalidArgumentError(absl::StrCat("'", label, "' of the ", kWhat,
                                                   " request must be a non-negative integer; was ",
                                                   value.type_name()));
  };
  if (!offset.is_null() && !offset.is_number_unsigned()) return size_error("offset", offset);
  if (!byte_size.is_number_unsigned()) return size_error("byte_size", byte_size);
  request->set_name(name);
  request->set_key(key.get<std::string>());
  request->set_offset(offset.is_null() ? 0 : offset.get<uint64_t>());
  request->set_byte_size(byte_size.get<uint64_t>());
  return absl::OkStatus();
}

nlohmann::ordered_json SharedMemoryStatusJson(
    const inference::SystemSharedMemoryStatusResponse& response) {
  const std::map<std::string, inference::SystemSharedMemoryStatusResponse::RegionStatus> sorted(
      response.regions().begin(), response.regions().end());
  nlohmann::ordered_json regions = nlohmann::ordered_json::array();
  for (const auto& [name, region] : sorted) {
    regions.push_back({{"name", region.name()},
                       {"key", region.key()},
                       {"offset", region.offset()},
                       {"byte_size", region.byte_size()}});
  }
  return regions;
}

}  // namespace speech
