#include "client/accuracy/compare/tensor_compare.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace speech {
namespace {

template <typename T>
HostTensor Tensor(const std::string& datatype, std::vector<int64_t> shape,
                  const std::vector<T>& values) {
  HostTensor tensor;
  tensor.name = "OUT";
  tensor.datatype = datatype;
  tensor.shape = std::move(shape);
  tensor.bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
  return tensor;
}

HostTensor Floats(std::vector<float> values) {
  return Tensor<float>("FP32", {1, static_cast<int64_t>(values.size())}, values);
}

TEST(TensorCompareTest, EqualFloatsHaveNoError) {
  const TensorComparison c = CompareTensors(Floats({1, -2, 3}), Floats({1, -2, 3}));
  EXPECT_FALSE(c.missing);
  EXPECT_FALSE(c.shape_mismatch);
  EXPECT_FALSE(c.exact);
  EXPECT_EQ(c.elements, 3);
  EXPECT_EQ(c.differing_elements, 0);
  EXPECT_EQ(c.max_abs_error, 0);
  EXPECT_EQ(c.max_rel_error, 0);
  EXPECT_EQ(c.max_abs_reference, 3);
}

TEST(TensorCompareTest, RelativeErrorIsScaledByTheLargestReferenceMagnitude) {
  // Errors 0.5 and 0.25; the reference's largest magnitude is 4.
  const TensorComparison c = CompareTensors(Floats({1.5f, -4.25f, 0}), Floats({1, -4, 0}));
  EXPECT_EQ(c.differing_elements, 2);
  EXPECT_DOUBLE_EQ(c.max_abs_error, 0.5);
  EXPECT_DOUBLE_EQ(c.sum_abs_error, 0.75);
  EXPECT_DOUBLE_EQ(c.max_rel_error, 0.5 / (4 + kRelativeErrorFloor));
}

TEST(TensorCompareTest, AllZeroReferenceGivesAFiniteLargeRelativeError) {
  const TensorComparison c = CompareTensors(Floats({1e-6f}), Floats({0}));
  EXPECT_TRUE(std::isfinite(c.max_rel_error));
  EXPECT_GT(c.max_rel_error, 1e5);
}

TEST(TensorCompareTest, NanEqualsNanButNotANumber) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  EXPECT_EQ(CompareTensors(Floats({nan, inf}), Floats({nan, inf})).differing_elements, 0);
  const TensorComparison c = CompareTensors(Floats({nan, 1}), Floats({1, 1}));
  EXPECT_EQ(c.differing_elements, 1);
  EXPECT_TRUE(std::isinf(c.max_abs_error));
  EXPECT_TRUE(std::isinf(c.max_rel_error));
  const TensorComparison infinite = CompareTensors(Floats({1}), Floats({inf}));
  EXPECT_TRUE(std::isinf(infinite.max_rel_error));
}

TEST(TensorCompareTest, ShapeOrDatatypeDifferencesAreMismatches) {
  const TensorComparison shape = CompareTensors(Floats({1, 2}), Floats({1, 2, 3}));
  EXPECT_TRUE(shape.shape_mismatch);
  EXPECT_EQ(shape.detail, "shape [1, 2] but the reference's is [1, 3]");
  EXPECT_EQ(shape.elements, 0);
  const TensorComparison type = CompareTensors(Tensor<double>("FP64", {1, 1}, {1.0}), Floats({1}));
  EXPECT_TRUE(type.shape_mismatch);
  EXPECT_EQ(type.detail, "datatype FP64 but the reference's is FP32");
  HostTensor short_payload = Floats({1, 2});
  short_payload.bytes.resize(4);
  EXPECT_TRUE(CompareTensors(short_payload, Floats({1, 2})).shape_mismatch);
}

TEST(TensorCompareTest, IntegersCompareExactlyEvenBeyondDoublePrecision) {
  const int64_t big = (int64_t{1} << 60) + 1;
  const TensorComparison c = CompareTensors(Tensor<int64_t>("INT64", {1, 2}, {big, 7}),
                                            Tensor<int64_t>("INT64", {1, 2}, {big - 1, 9}));
  EXPECT_TRUE(c.exact);
  EXPECT_EQ(c.differing_elements, 2);
  EXPECT_DOUBLE_EQ(c.max_abs_error, 2);
  const TensorComparison same = CompareTensors(Tensor<int32_t>("INT32", {3}, {1, 2, 3}),
                                               Tensor<int32_t>("INT32", {3}, {1, 2, 3}));
  EXPECT_TRUE(same.exact);
  EXPECT_EQ(same.differing_elements, 0);
}

TEST(TensorCompareTest, HalfPrecisionIsFloatingPoint) {
  EXPECT_FALSE(IsExactDatatype("FP16"));
  EXPECT_FALSE(IsExactDatatype("BF16"));
  EXPECT_FALSE(IsExactDatatype("FP64"));
  EXPECT_TRUE(IsExactDatatype("BOOL"));
  EXPECT_TRUE(IsExactDatatype("UINT8"));
  EXPECT_TRUE(IsExactDatatype("BYTES"));
  // 0x3C00 is 1.0 and 0x4000 is 2.0 in IEEE half precision.
  const TensorComparison c = CompareTensors(Tensor<uint16_t>("FP16", {1}, {0x4000}),
                                            Tensor<uint16_t>("FP16", {1}, {0x3C00}));
  EXPECT_DOUBLE_EQ(c.max_abs_error, 1);
}

TEST(TensorCompareTest, BytesTensorsCompareWhole) {
  HostTensor a;
  a.name = "OUT";
  a.datatype = "BYTES";
  a.shape = {1};
  a.bytes = std::string("\x02\x00\x00\x00hi", 6);
  HostTensor b = a;
  EXPECT_EQ(CompareTensors(a, b).differing_elements, 0);
  b.bytes[5] = 'o';
  const TensorComparison c = CompareTensors(a, b);
  EXPECT_TRUE(c.exact);
  EXPECT_EQ(c.differing_elements, 1);
}

TEST(TensorCompareTest, MissingOutputSaysSo) {
  const TensorComparison c = MissingOutput();
  EXPECT_TRUE(c.missing);
  EXPECT_EQ(c.detail, "missing from the reply");
}

}  // namespace
}  // namespace speech
