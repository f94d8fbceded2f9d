#include "proto/element_values.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "gtest/gtest.h"

namespace speech {
namespace {

TEST(ElementValuesTest, HalfConversions) {
  EXPECT_EQ(HalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_TRUE(std::isinf(HalfToFloat(0x7c00)));
  EXPECT_TRUE(std::isnan(HalfToFloat(0x7e00)));
  EXPECT_EQ(FloatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalf(-0.5f), 0xb800);
  EXPECT_EQ(FloatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(FloatToHalf(70000.0f), 0x7c00);
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie rounds to even
  // Every finite half survives the round trip.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00) continue;
    ASSERT_EQ(FloatToHalf(HalfToFloat(static_cast<uint16_t>(h))), h) << h;
  }
  EXPECT_EQ(Bf16ToFloat(FloatToBf16(1.5f)), 1.5f);
}

template <typename T>
double At(DataType type, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  return ElementAsDouble(type, bytes, 0);
}

TEST(ElementValuesTest, ElementAsDoubleReadsEveryType) {
  EXPECT_EQ(At<uint8_t>(inference::TYPE_BOOL, 3), 1.0);
  EXPECT_EQ(At<uint8_t>(inference::TYPE_UINT8, 250), 250.0);
  EXPECT_EQ(At<int8_t>(inference::TYPE_INT8, -7), -7.0);
  EXPECT_EQ(At<int16_t>(inference::TYPE_INT16, -300), -300.0);
  EXPECT_EQ(At<int32_t>(inference::TYPE_INT32, 1 << 30), 1073741824.0);
  EXPECT_EQ(At<int64_t>(inference::TYPE_INT64, -(int64_t{1} << 40)), -1099511627776.0);
  EXPECT_EQ(At<uint16_t>(inference::TYPE_UINT16, 65535), 65535.0);
  EXPECT_EQ(At<uint32_t>(inference::TYPE_UINT32, 4000000000u), 4e9);
  EXPECT_EQ(At<uint16_t>(inference::TYPE_FP16, 0xc000), -2.0);
  EXPECT_EQ(At<uint16_t>(inference::TYPE_BF16, FloatToBf16(1.5f)), 1.5);
  EXPECT_EQ(At<float>(inference::TYPE_FP32, 0.25f), 0.25);
  EXPECT_TRUE(std::isnan(At<double>(inference::TYPE_FP64, std::nan(""))));
  const int32_t values[] = {5, 6, 7};
  EXPECT_EQ(ElementAsDouble(inference::TYPE_INT32, reinterpret_cast<const char*>(values), 2), 7.0);
}

}  // namespace
}  // namespace speech
