#include "server/http/json/tensor_json.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/element_values.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;

template <typename T>
std::string IntegerRange() {
  return absl::StrCat("integers in [", +std::numeric_limits<T>::min(), ", ",
                      +std::numeric_limits<T>::max(), "]");
}

// What "data" must hold for `type`, for messages.
std::string Expected(DataType type) {
  switch (type) {
    case inference::TYPE_BOOL:
      return "true or false";
    case inference::TYPE_UINT8:
      return IntegerRange<uint8_t>();
    case inference::TYPE_UINT16:
      return IntegerRange<uint16_t>();
    case inference::TYPE_UINT32:
      return IntegerRange<uint32_t>();
    case inference::TYPE_UINT64:
      return IntegerRange<uint64_t>();
    case inference::TYPE_INT8:
      return IntegerRange<int8_t>();
    case inference::TYPE_INT16:
      return IntegerRange<int16_t>();
    case inference::TYPE_INT32:
      return IntegerRange<int32_t>();
    case inference::TYPE_INT64:
      return IntegerRange<int64_t>();
    case inference::TYPE_FP16:
      return "numbers within +-65504";
    case inference::TYPE_BF16:
    case inference::TYPE_FP32:
      return "numbers within +-3.4e38";
    case inference::TYPE_FP64:
      return "numbers";
    case inference::TYPE_STRING:
      return "strings";
    default:
      return "nothing";
  }
}

// Calls `visit` on every value of `data` that is not an array, in row-major order, without
// recursion (nesting depth comes from the network). Stops at the first `visit` that is false.
template <typename Visit>
bool ForEachLeaf(const Json& data, Visit visit) {
  std::vector<std::pair<const Json*, size_t>> stack = {{&data, 0}};
  while (!stack.empty()) {
    const Json* array = stack.back().first;
    const size_t next = stack.back().second++;
    if (next == array->size()) {
      stack.pop_back();
      continue;
    }
    const Json& element = (*array)[next];
    if (element.is_array()) {
      stack.emplace_back(&element, 0);
    } else if (!visit(element)) {
      return false;
    }
  }
  return true;
}

template <typename T>
bool ToInteger(const Json& value, T* out) {
  if (!value.is_number_integer()) return false;
  if (value.is_number_unsigned()) {
    const uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) return false;
    *out = static_cast<T>(u);
    return true;
  }
  const int64_t s = value.get<int64_t>();
  if constexpr (std::is_unsigned_v<T>) {
    if (s < 0 || static_cast<uint64_t>(s) > std::numeric_limits<T>::max()) return false;
  } else {
    if (s < std::numeric_limits<T>::min() || s > std::numeric_limits<T>::max()) return false;
  }
  *out = static_cast<T>(s);
  return true;
}

bool ToDouble(const Json& value, double limit, double* out) {
  if (!value.is_number()) return false;
  *out = value.get<double>();
  return std::abs(*out) <= limit;
}

template <typename T>
void Put(T value, size_t index, std::string* out) {
  std::memcpy(out->data() + index * sizeof(T), &value, sizeof(T));
}

template <typename T>
bool PutInteger(const Json& value, size_t index, std::string* out) {
  T parsed;
  if (!ToInteger(value, &parsed)) return false;
  Put(parsed, index, out);
  return true;
}

// Writes element `index` of a fixed-size `type` into `out`; false when `value` does not fit.
bool PutElement(const Json& value, DataType type, size_t index, std::string* out) {
  constexpr double kFloatMax = std::numeric_limits<float>::max();
  double number = 0;
  switch (type) {
    case inference::TYPE_BOOL:
      if (!value.is_boolean()) return false;
      Put<uint8_t>(value.get<bool>() ? 1 : 0, index, out);
      return true;
    case inference::TYPE_UINT8:
      return PutInteger<uint8_t>(value, index, out);
    case inference::TYPE_UINT16:
      return PutInteger<uint16_t>(value, index, out);
    case inference::TYPE_UINT32:
      return PutInteger<uint32_t>(value, index, out);
    case inference::TYPE_UINT64:
      return PutInteger<uint64_t>(value, index, out);
    case inference::TYPE_INT8:
      return PutInteger<int8_t>(value, index, out);
    case inference::TYPE_INT16:
      return PutInteger<int16_t>(value, index, out);
    case inference::TYPE_INT32:
      return PutInteger<int32_t>(value, index, out);
    case inference::TYPE_INT64:
      return PutInteger<int64_t>(value, index, out);
    case inference::TYPE_FP16:
      if (!ToDouble(value, 65504.0, &number)) return false;
      Put(FloatToHalf(static_cast<float>(number)), index, out);
      return true;
    case inference::TYPE_BF16:
      if (!ToDouble(value, kFloatMax, &number)) return false;
      Put(FloatToBf16(static_cast<float>(number)), index, out);
      return true;
    case inference::TYPE_FP32:
      if (!ToDouble(value, kFloatMax, &number)) return false;
      Put(static_cast<float>(number), index, out);
      return true;
    case inference::TYPE_FP64:
      if (!ToDouble(value, std::numeric_limits<double>::max(), &number)) return false;
      Put(number, index, out);
      return true;
    default:
      return false;
  }
}

absl::Status BadElement(absl::string_view name, DataType type, int64_t index, const Json& value) {
  return absl::InvalidArgumentError(
      absl::StrCat("input '", name, "': element ", index, " of 'data' is ", DescribeJson(value),
                   "; ", DataTypeWireName(type), " takes ", Expected(type)));
}

// BYTES: each string becomes a 4-byte little-endian length and its bytes.
absl::StatusOr<std::string> JsonToRawBytes(const Json& data, absl::string_view name) {
  size_t total = 0;
  int64_t index = 0;
  const Json* bad = nullptr;
  ForEachLeaf(data, [&](const Json& value) {
    if (!value.is_string() ||
        value.get_ref<const std::string&>().size() > std::numeric_limits<uint32_t>::max()) {
      bad = &value;
      return false;
    }
    total += sizeof(uint32_t) + value.get_ref<const std::string&>().size();
    ++index;
    return true;
  });
  if (bad != nullptr) return BadElement(name, inference::TYPE_STRING, index, *bad);
  std::string raw;
  raw.reserve(total);
  ForEachLeaf(data, [&](const Json& value) {
    const std::string& text = value.get_ref<const std::string&>();
    const uint32_t length = static_cast<uint32_t>(text.size());
    raw.append(reinterpret_cast<const char*>(&length), sizeof(length));
    raw.append(text);
    return true;
  });
  return raw;
}

bool IsValidUtf8(absl::string_view text) {
  static constexpr uint32_t kSmallest[] = {0, 0x80, 0x800, 0x10000};
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    size_t extra;
    uint32_t point;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      extra = 1, point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, point = lead & 0x07;
    } else {
      return false;
    }
    if (text.size() - i <= extra) return false;
    for (size_t k = 1; k <= extra; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return false;
      point = (point << 6) | (next & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and points beyond Unicode are invalid.
    if (point < kSmallest[extra] || point > 0x10FFFF || (point >= 0xD800 && point <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

absl::StatusOr<Json> RawBytesToJson(absl::string_view raw, int64_t element_count,
                                    absl::string_view name) {
  Json array = Json::array();
  size_t offset = 0;
  for (int64_t i = 0; i < element_count; ++i) {
    uint32_t length = 0;
    if (raw.size() - offset < sizeof(length)) {
      return absl::InternalError(absl::StrCat("output '", name, "': BYTES contents end before",
                                              " the length of element ", i, " of ", element_count));
    }
    std::memcpy(&length, raw.data() + offset, sizeof(length));
    offset += sizeof(length);
    if (raw.size() - offset < length) {
      return absl::InternalError(absl::StrCat("output '", name, "': BYTES element ", i, " claims ",
                                              length, " bytes; ", raw.size() - offset, " remain"));
    }
    const absl::string_view text = raw.substr(offset, length);
    offset += length;
    if (!IsValidUtf8(text)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "output '", name, "': BYTES element ", i,
          " is not valid UTF-8, which JSON cannot carry; ask for it with \"binary_data\": true"));
    }
    array.push_back(std::string(text));
  }
  if (offset != raw.size()) {
    return absl::InternalError(absl::StrCat("output '", name, "': ", raw.size() - offset,
                                            " bytes follow its ", element_count,
                                            " BYTES elements"));
  }
  return array;
}

template <typename T, typename As = T>
void AppendAll(absl::string_view raw, int64_t count, Json* array) {
  for (int64_t i = 0; i < count; ++i) {
    T value;
    std::memcpy(&value, raw.data() + i * sizeof(T), sizeof(T));
    array->push_back(static_cast<As>(value));
  }
}

template <float (*Convert)(uint16_t)>
void AppendHalves(absl::string_view raw, int64_t count, Json* array) {
  for (int64_t i = 0; i < count; ++i) {
    uint16_t bits;
    std::memcpy(&bits, raw.data() + i * sizeof(bits), sizeof(bits));
    array->push_back(static_cast<double>(Convert(bits)));
  }
}

}  // namespace

std::string DescribeJson(const Json& value) {
  if (value.is_null()) return "null";
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 40) text = absl::StrCat(text.substr(0, 37), "...");
  const char* kind = value.is_boolean()          ? "a boolean"
                     : value.is_number_integer() ? "an integer"
                     : value.is_number()         ? "a number"
                     : value.is_string()         ? "a string"
                     : value.is_object()         ? "an object"
                                                 : "an array";
  return absl::StrCat(kind, " (", text, ")");
}

absl::StatusOr<std::string> JsonToRawTensor(const Json& data, DataType type,
                                            absl::Span<const int64_t> shape,
                                            absl::string_view name) {
  if (!data.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", name, "': 'data' must be an array; got ", DescribeJson(data)));
  }
  const int64_t expected = ElementCount(shape);
  if (expected < 0) {
    return absl::InvalidArgumentError(absl::StrCat("input '", name, "': shape ",
                                                   ShapeToString(shape),
                                                   " has a negative dimension or overflows"));
  }
  int64_t count = 0;
  ForEachLeaf(data, [&count](const Json&) { return ++count, true; });
  if (count != expected) {
    return absl::InvalidArgumentError(absl::StrCat("input '", name, "': 'data' holds ", count,
                                                   " values; shape ", ShapeToString(shape),
                                                   " needs ", expected));
  }
  if (type == inference::TYPE_STRING) return JsonToRawBytes(data, name);
  const size_t element_bytes = DataTypeByteSize(type);
  if (element_bytes == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", name, "': datatype ", DataTypeWireName(type), " is not known"));
  }
  std::string raw(static_cast<size_t>(count) * element_bytes, '\0');
  int64_t index = 0;
  const Json* bad = nullptr;
  ForEachLeaf(data, [&](const Json& value) {
    if (!PutElement(value, type, static_cast<size_t>(index), &raw)) {
      bad = &value;
      return false;
    }
    ++index;
    return true;
  });
  if (bad != nullptr) return BadElement(name, type, index, *bad);
  return raw;
}

absl::StatusOr<Json> RawTensorToJson(absl::string_view raw, DataType type, int64_t element_count,
                                     absl::string_view name) {
  if (element_count < 0) {
    return absl::InternalError(absl::StrCat("output '", name, "': shape has no element count"));
  }
  if (type == inference::TYPE_STRING) return RawBytesToJson(raw, element_count, name);
  const size_t element_bytes = DataTypeByteSize(type);
  if (element_bytes == 0) {
    return absl::InternalError(
        absl::StrCat("output '", name, "': datatype ", DataTypeWireName(type), " is not known"));
  }
  if (raw.size() != static_cast<size_t>(element_count) * element_bytes) {
    return absl::InternalError(absl::StrCat("output '", name, "': has ", raw.size(), " bytes; ",
                                            element_count, " elements of ", DataTypeWireName(type),
                                            " need ", element_count * element_bytes));
  }
  Json array = Json::array();
  array.get_ref<Json::array_t&>().reserve(static_cast<size_t>(element_count));
  switch (type) {
    case inference::TYPE_BOOL:
      for (int64_t i = 0; i < element_count; ++i) array.push_back(raw[i] != 0);
      break;
    case inference::TYPE_UINT8:
      AppendAll<uint8_t, uint64_t>(raw, element_count, &array);
      break;
    case inference::TYPE_UINT16:
      AppendAll<uint16_t, uint64_t>(raw, element_count, &array);
      break;
    case inference::TYPE_UINT32:
      AppendAll<uint32_t, uint64_t>(raw, element_count, &array);
      break;
    case inference::TYPE_UINT64:
      AppendAll<uint64_t>(raw, element_count, &array);
      break;
    case inference::TYPE_INT8:
      AppendAll<int8_t, int64_t>(raw, element_count, &array);
      break;
    case inference::TYPE_INT16:
      AppendAll<int16_t, int64_t>(raw, element_count, &array);
      break;
    case inference::TYPE_INT32:
      AppendAll<int32_t, int64_t>(raw, element_count, &array);
      break;
    case inference::TYPE_INT64:
      AppendAll<int64_t>(raw, element_count, &array);
      break;
    case inference::TYPE_FP16:
      AppendHalves<HalfToFloat>(raw, element_count, &array);
      break;
    case inference::TYPE_BF16:
      AppendHalves<Bf16ToFloat>(raw, element_count, &array);
      break;
    case inference::TYPE_FP32:
      AppendAll<float, double>(raw, element_count, &array);
      break;
    case inference::TYPE_FP64:
      AppendAll<double>(raw, element_count, &array);
      break;
    default:
      break;
  }
  return array;
}

}  // namespace speech
