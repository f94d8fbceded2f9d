#include "proto/tensor_types.h"

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace speech {
namespace {

struct TypeInfo {
  DataType type;
  absl::string_view wire_name;
  size_t byte_size;
};

constexpr TypeInfo kTypes[] = {
    {inference::TYPE_BOOL, "BOOL", 1},    {inference::TYPE_UINT8, "UINT8", 1},
    {inference::TYPE_UINT16, "UINT16", 2}, {inference::TYPE_UINT32, "UINT32", 4},
    {inference::TYPE_UINT64, "UINT64", 8}, {inference::TYPE_INT8, "INT8", 1},
    {inference::TYPE_INT16, "INT16", 2},   {inference::TYPE_INT32, "INT32", 4},
    {inference::TYPE_INT64, "INT64", 8},   {inference::TYPE_FP16, "FP16", 2},
    {inference::TYPE_FP32, "FP32", 4},     {inference::TYPE_FP64, "FP64", 8},
    {inference::TYPE_STRING, "BYTES", 0},  {inference::TYPE_BF16, "BF16", 2},
};

const TypeInfo* Find(DataType type) {
  for (const TypeInfo& info : kTypes) {
    if (info.type == type) return &info;
  }
  return nullptr;
}

}  // namespace

size_t DataTypeByteSize(DataType type) {
  const TypeInfo* info = Find(type);
  return info == nullptr ? 0 : info->byte_size;
}

absl::string_view DataTypeWireName(DataType type) {
  const TypeInfo* info = Find(type);
  return info == nullptr ? "INVALID" : info->wire_name;
}

DataType DataTypeFromWireName(absl::string_view name) {
  for (const TypeInfo& info : kTypes) {
    if (info.wire_name == name) return info.type;
  }
  return inference::TYPE_INVALID;
}

int64_t ElementCount(absl::Span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return -1;
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim) return -1;
    count *= dim;
  }
  return count;
}

std::string ShapeToString(absl::Span<const int64_t> shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

}  // namespace speech
