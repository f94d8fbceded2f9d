#include "client/perf/inputs/json/json_tensor.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/perf/inputs/input_samples.h"
#include "proto/bytes_elements.h"
#include "proto/element_values.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

using Json = nlohmann::json;

template <typename T>
void Append(std::string* bytes, T value) {
  bytes->append(reinterpret_cast<const char*>(&value), sizeof(T));
}

// The leaves of `value` in row-major order: nested arrays are flattened.
void Flatten(const Json& value, std::vector<const Json*>* leaves) {
  if (!value.is_array()) {
    leaves->push_back(&value);
    return;
  }
  for (const Json& element : value) Flatten(element, leaves);
}

// A short quote of a value for error messages.
std::string Quote(const Json& value) {
  std::string text = value.dump();
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

std::string ValueError(size_t index, const Json& value, absl::string_view problem) {
  return absl::StrCat("value ", index, " (", Quote(value), ") ", problem);
}

// Appends integer `value` as a T, checking that it is a whole number T can hold.
template <typename T>
absl::Status AppendInteger(size_t index, const Json& value, DataType type, std::string* bytes) {
  const auto range = [&] {
    return absl::StrCat("is out of range for ", DataTypeWireName(type), " [",
                        +std::numeric_limits<T>::min(), ", ", +std::numeric_limits<T>::max(), "]");
  };
  if (value.is_number_unsigned()) {
    const uint64_t v = value.get<uint64_t>();
    if (v > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return absl::InvalidArgumentError(ValueError(index, value, range()));
    }
    Append(bytes, static_cast<T>(v));
  } else if (value.is_number_integer()) {
    const int64_t v = value.get<int64_t>();
    bool fits;
    if constexpr (std::numeric_limits<T>::is_signed) {
      fits = v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
    } else {
      fits = v >= 0 && static_cast<uint64_t>(v) <= std::numeric_limits<T>::max();
    }
    if (!fits) return absl::InvalidArgumentError(ValueError(index, value, range()));
    Append(bytes, static_cast<T>(v));
  } else if (value.is_number_float()) {
    const double v = value.get<double>();
    if (v != std::floor(v)) {
      return absl::InvalidArgumentError(
          ValueError(index, value,
                     absl::StrCat("is not a whole number, as ", DataTypeWireName(type), " needs")));
    }
    // Doubles round the 64-bit limits up to 2^63 / 2^64, hence the strict comparison there.
    const double low = static_cast<double>(std::numeric_limits<T>::min());
    const double high = static_cast<double>(std::numeric_limits<T>::max());
    if (v < low || (sizeof(T) == 8 ? v >= high : v > high)) {
      return absl::InvalidArgumentError(ValueError(index, value, range()));
    }
    Append(bytes, static_cast<T>(v));
  } else {
    return absl::InvalidArgumentError(ValueError(index, value, "is not a number"));
  }
  return absl::OkStatus();
}

// Appends floating-point `value` as `type`, checking that the type's finite range holds it.
absl::Status AppendFloat(size_t index, const Json& value, DataType type, std::string* bytes) {
  if (!value.is_number()) {
    return absl::InvalidArgumentError(ValueError(index, value, "is not a number"));
  }
  const double v = value.get<double>();
  const double max = type == inference::TYPE_FP16   ? 65504.0
                     : type == inference::TYPE_FP64 ? std::numeric_limits<double>::max()
                                                    : std::numeric_limits<float>::max();
  if (!(std::fabs(v) <= max)) {
    return absl::InvalidArgumentError(
        ValueError(index, value, absl::StrCat("is out of range for ", DataTypeWireName(type))));
  }
  switch (type) {
    case inference::TYPE_FP16:
      Append(bytes, FloatToHalf(static_cast<float>(v)));
      break;
    case inference::TYPE_BF16:
      Append(bytes, FloatToBf16(static_cast<float>(v)));
      break;
    case inference::TYPE_FP32:
      Append(bytes, static_cast<float>(v));
      break;
    default:
      Append(bytes, v);
  }
  return absl::OkStatus();
}

absl::Status AppendElement(size_t index, const Json& value, DataType type, std::string* bytes) {
  switch (type) {
    case inference::TYPE_STRING:
      if (!value.is_string()) {
        return absl::InvalidArgumentError(ValueError(index, value, "is not a string"));
      }
      Append(bytes, static_cast<uint32_t>(value.get_ref<const std::string&>().size()));
      bytes->append(value.get_ref<const std::string&>());
      return absl::OkStatus();
    case inference::TYPE_BOOL:
      if (!value.is_boolean()) {
        return absl::InvalidArgumentError(ValueError(index, value, "is not true or false"));
      }
      Append(bytes, static_cast<uint8_t>(value.get<bool>()));
      return absl::OkStatus();
    case inference::TYPE_INT8:
      return AppendInteger<int8_t>(index, value, type, bytes);
    case inference::TYPE_INT16:
      return AppendInteger<int16_t>(index, value, type, bytes);
    case inference::TYPE_INT32:
      return AppendInteger<int32_t>(index, value, type, bytes);
    case inference::TYPE_INT64:
      return AppendInteger<int64_t>(index, value, type, bytes);
    case inference::TYPE_UINT8:
      return AppendInteger<uint8_t>(index, value, type, bytes);
    case inference::TYPE_UINT16:
      return AppendInteger<uint16_t>(index, value, type, bytes);
    case inference::TYPE_UINT32:
      return AppendInteger<uint32_t>(index, value, type, bytes);
    case inference::TYPE_UINT64:
      return AppendInteger<uint64_t>(index, value, type, bytes);
    default:
      return AppendFloat(index, value, type, bytes);
  }
}

// The element count of raw `bytes` of `type`.
absl::StatusOr<int64_t> RawCount(absl::string_view bytes, DataType type) {
  if (type == inference::TYPE_STRING) {
    absl::StatusOr<std::vector<absl::string_view>> elements = SplitBytesElements(
        bytes, absl::StrCat("\"b64\" decodes to ", bytes.size(),
                            " bytes that are not BYTES elements (each a 4-byte little-endian "
                            "length, then the bytes)"));
    if (!elements.ok()) return elements.status();
    return static_cast<int64_t>(elements->size());
  }
  const size_t size = DataTypeByteSize(type);
  if (bytes.size() % size != 0) {
    return absl::InvalidArgumentError(absl::StrCat("\"b64\" decodes to ", bytes.size(),
                                                   " bytes, not a whole number of ", size, "-byte ",
                                                   DataTypeWireName(type), " elements"));
  }
  return static_cast<int64_t>(bytes.size() / size);
}

// The explicit "shape" of an object value, checked against `configured`.
absl::StatusOr<std::optional<std::vector<int64_t>>> ExplicitShape(
    const Json& object, absl::Span<const int64_t> configured) {
  const auto it = object.find("shape");
  if (it == object.end()) return std::nullopt;
  std::vector<int64_t> shape;
  bool whole = it->is_array();
  for (size_t i = 0; whole && i < it->size(); ++i) {
    whole = (*it)[i].is_number_integer() && (*it)[i].get<int64_t>() >= 0;
    if (whole) shape.push_back((*it)[i].get<int64_t>());
  }
  if (!whole) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"shape\" must be an array of whole numbers >= 0; got ", Quote(*it)));
  }
  absl::Status fits = CheckShapeFits(shape, configured);
  if (!fits.ok()) return fits;
  return shape;
}

// The raw bytes an object value holds ("content" or "b64"), with their element count.
absl::Status ObjectBytes(const Json& object, DataType type, std::string* bytes, int64_t* count) {
  for (const auto& [key, member] : object.items()) {
    if (key != "content" && key != "b64" && key != "shape") {
      return absl::InvalidArgumentError(absl::StrCat("unknown member \"", key,
                                                     "\" (expected \"content\" or \"b64\", and "
                                                     "optionally \"shape\")"));
    }
  }
  const bool has_content = object.contains("content");
  if (has_content == object.contains("b64")) {
    return absl::InvalidArgumentError(has_content ? "has both \"content\" and \"b64\"; give one"
                                                  : "has neither \"content\" nor \"b64\"");
  }
  if (has_content) {
    std::vector<const Json*> leaves;
    const Json& content = object.at("content");
    if (!content.is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"content\" must be an array; got ", Quote(content)));
    }
    Flatten(content, &leaves);
    for (size_t i = 0; i < leaves.size(); ++i) {
      absl::Status appended = AppendElement(i, *leaves[i], type, bytes);
      if (!appended.ok()) return appended;
    }
    *count = static_cast<int64_t>(leaves.size());
    return absl::OkStatus();
  }
  const Json& encoded = object.at("b64");
  if (!encoded.is_string() || !absl::Base64Unescape(encoded.get<std::string>(), bytes)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"b64\" is not a base64 string: ", Quote(encoded)));
  }
  absl::StatusOr<int64_t> raw = RawCount(*bytes, type);
  if (!raw.ok()) return raw.status();
  *count = *raw;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HostTensor> JsonToTensor(const Json& value, absl::string_view name,
                                        absl::string_view datatype,
                                        absl::Span<const int64_t> configured) {
  HostTensor tensor;
  tensor.name = std::string(name);
  tensor.datatype = std::string(datatype);
  const DataType type = DataTypeFromWireName(datatype);
  if (type == inference::TYPE_INVALID) {
    return absl::InvalidArgumentError(absl::StrCat("unknown datatype \"", datatype, "\""));
  }
  int64_t count = 0;
  std::optional<std::vector<int64_t>> shape;
  if (value.is_array()) {
    std::vector<const Json*> leaves;
    Flatten(value, &leaves);
    for (size_t i = 0; i < leaves.size(); ++i) {
      absl::Status appended = AppendElement(i, *leaves[i], type, &tensor.bytes);
      if (!appended.ok()) return appended;
    }
    count = static_cast<int64_t>(leaves.size());
  } else if (value.is_object()) {
    absl::StatusOr<std::optional<std::vector<int64_t>>> given = ExplicitShape(value, configured);
    if (!given.ok()) return given.status();
    shape = *std::move(given);
    absl::Status read = ObjectBytes(value, type, &tensor.bytes, &count);
    if (!read.ok()) return read;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("expected an array of values or an object with \"content\" or \"b64\"; got ",
                     Quote(value)));
  }
  if (shape.has_value()) {
    if (ElementCount(*shape) != count) {
      return absl::InvalidArgumentError(absl::StrCat("has ", count, " values; shape ",
                                                     ShapeToString(*shape), " needs ",
                                                     ElementCount(*shape)));
    }
    tensor.shape = *std::move(shape);
  } else {
    absl::StatusOr<std::vector<int64_t>> inferred = ShapeForCount(configured, count);
    if (!inferred.ok()) return inferred.status();
    tensor.shape = *std::move(inferred);
  }
  return tensor;
}

}  // namespace speech
