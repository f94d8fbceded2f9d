#include "server/http/json/message_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;
using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

void FixObject(const Descriptor* type, Json* object);

// Turns one printed value of `field` back into a number where protobuf wrote a string.
void FixValue(const FieldDescriptor* field, Json* value) {
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
    if (value->is_object()) FixObject(field->message_type(), value);
    return;
  }
  if (!value->is_string()) return;
  const std::string& text = value->get_ref<const std::string&>();
  if (field->cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
    int64_t number;
    if (absl::SimpleAtoi(text, &number)) *value = number;
  } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_UINT64) {
    uint64_t number;
    if (absl::SimpleAtoi(text, &number)) *value = number;
  }
}

void FixObject(const Descriptor* type, Json* object) {
  for (auto& item : object->items()) {
    const FieldDescriptor* field = type->FindFieldByName(item.key());
    if (field == nullptr) continue;
    Json& value = item.value();
    if (field->is_map()) {
      // Keys stay strings (JSON has no others); values are fixed like any field.
      const FieldDescriptor* map_value = field->message_type()->map_value();
      if (value.is_object()) {
        for (auto& entry : value.items()) FixValue(map_value, &entry.value());
      }
    } else if (field->is_repeated()) {
      if (value.is_array()) {
        for (Json& element : value) FixValue(field, &element);
      }
    } else {
      FixValue(field, &value);
    }
  }
}

void SetAll(google::protobuf::Message* message, int depth) {
  if (depth >= 8) return;
  const Descriptor* type = message->GetDescriptor();
  const google::protobuf::Reflection* reflection = message->GetReflection();
  for (int i = 0; i < type->field_count(); ++i) {
    const FieldDescriptor* field = type->field(i);
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE ||
        field->containing_oneof() != nullptr) {
      continue;
    }
    if (field->is_repeated()) {
      for (int j = 0; j < reflection->FieldSize(*message, field); ++j) {
        SetAll(reflection->MutableRepeatedMessage(message, field, j), depth + 1);
      }
    } else {
      SetAll(reflection->MutableMessage(message, field), depth + 1);
    }
  }
}

}  // namespace

absl::StatusOr<Json> MessageToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string text;
  const auto printed = google::protobuf::util::MessageToJsonString(message, &text, options);
  if (!printed.ok()) {
    return absl::InternalError(
        absl::StrCat("cannot print ", message.GetTypeName(), " as JSON: ", printed.ToString()));
  }
  Json json;
  try {
    json = Json::parse(text);
  } catch (const Json::exception& error) {
    return absl::InternalError(absl::StrCat("cannot read protobuf's JSON for ",
                                            message.GetTypeName(), ": ", error.what()));
  }
  FixObject(message.GetDescriptor(), &json);
  return json;
}

void SetAllMessageFields(google::protobuf::Message* message) { SetAll(message, 0); }

}  // namespace speech
