#include "proto/element_values.h"

#include <cmath>
#include <cstring>

namespace speech {
namespace {

template <typename T>
double Load(const char* data, int64_t index) {
  T value;
  std::memcpy(&value, data + index * sizeof(T), sizeof(T));
  return static_cast<double>(value);
}

}  // namespace

float HalfToFloat(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000) << 16;
  const uint32_t exponent = (half >> 10) & 0x1f;
  const uint32_t mantissa = half & 0x3ff;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign != 0 ? -magnitude : magnitude;
  }
  uint32_t bits;
  if (exponent == 0x1f) {  // infinity or NaN
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint16_t FloatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) {  // infinity, or NaN kept quiet
    return sign | 0x7c00 | (magnitude > 0x7f800000u ? 0x200 : 0);
  }
  // 65520 and above round to infinity.
  if (magnitude >= 0x477ff000u) return sign | 0x7c00;
  if (magnitude < 0x38800000u) {  // below 2^-14: a half subnormal, in units of 2^-24
    float absolute;
    std::memcpy(&absolute, &magnitude, sizeof(absolute));
    return sign | static_cast<uint16_t>(std::nearbyint(absolute * 16777216.0f));
  }
  const uint32_t mantissa = magnitude & 0x7fffff;
  uint32_t half = (((magnitude >> 23) - 127 + 15) << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1fff;
  // Round to nearest even; a carry into the exponent is still the right encoding.
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1) != 0)) ++half;
  return sign | static_cast<uint16_t>(half);
}

float Bf16ToFloat(uint16_t bf16) {
  const uint32_t bits = static_cast<uint32_t>(bf16) << 16;
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

uint16_t FloatToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);  // round to nearest even
  return static_cast<uint16_t>(bits >> 16);
}

double ElementAsDouble(DataType type, const char* data, int64_t index) {
  switch (type) {
    case inference::TYPE_BOOL:
      return data[index] != 0 ? 1.0 : 0.0;
    case inference::TYPE_UINT8:
      return Load<uint8_t>(data, index);
    case inference::TYPE_UINT16:
      return Load<uint16_t>(data, index);
    case inference::TYPE_UINT32:
      return Load<uint32_t>(data, index);
    case inference::TYPE_UINT64:
      return Load<uint64_t>(data, index);
    case inference::TYPE_INT8:
      return Load<int8_t>(data, index);
    case inference::TYPE_INT16:
      return Load<int16_t>(data, index);
    case inference::TYPE_INT32:
      return Load<int32_t>(data, index);
    case inference::TYPE_INT64:
      return Load<int64_t>(data, index);
    case inference::TYPE_FP16:
      return HalfToFloat(static_cast<uint16_t>(Load<uint16_t>(data, index)));
    case inference::TYPE_BF16:
      return Bf16ToFloat(static_cast<uint16_t>(Load<uint16_t>(data, index)));
    case inference::TYPE_FP32:
      return Load<float>(data, index);
    default:
      return Load<double>(data, index);
  }
}

}  // namespace speech
