#include "client/accuracy/compare/tensor_compare.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "proto/element_values.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

// |a - b| with the equalities the header promises (NaN == NaN, inf == inf of one sign).
double AbsoluteError(double a, double b) {
  if (a == b || (std::isnan(a) && std::isnan(b))) return 0;
  const double difference = std::fabs(a - b);
  return std::isnan(difference) ? std::numeric_limits<double>::infinity() : difference;
}

// Why `actual` cannot be compared element by element with `expected`; empty when it can.
std::string Mismatch(const HostTensor& actual, const HostTensor& expected) {
  if (actual.datatype != expected.datatype) {
    return absl::StrCat("datatype ", actual.datatype, " but the reference's is ",
                        expected.datatype);
  }
  if (actual.shape != expected.shape) {
    return absl::StrCat("shape ", ShapeToString(actual.shape), " but the reference's is ",
                        ShapeToString(expected.shape));
  }
  if (actual.bytes.size() != expected.bytes.size()) {
    return absl::StrCat(actual.bytes.size(), " bytes but the reference has ",
                        expected.bytes.size());
  }
  return "";
}

}  // namespace

bool IsExactDatatype(absl::string_view datatype) {
  return datatype != "FP16" && datatype != "BF16" && datatype != "FP32" && datatype != "FP64";
}

TensorComparison MissingOutput() {
  TensorComparison comparison;
  comparison.missing = true;
  comparison.detail = "missing from the reply";
  return comparison;
}

TensorComparison CompareTensors(const HostTensor& actual, const HostTensor& expected) {
  TensorComparison comparison;
  comparison.exact = IsExactDatatype(expected.datatype);
  comparison.detail = Mismatch(actual, expected);
  if (!comparison.detail.empty()) {
    comparison.shape_mismatch = true;
    return comparison;
  }
  const DataType type = DataTypeFromWireName(expected.datatype);
  if (type == inference::TYPE_STRING) {
    comparison.elements = ElementCount(expected.shape);
    comparison.differing_elements = actual.bytes == expected.bytes ? 0 : 1;
    return comparison;
  }
  const size_t element_bytes = DataTypeByteSize(type);
  comparison.elements = static_cast<int64_t>(expected.bytes.size() / element_bytes);
  for (int64_t i = 0; i < comparison.elements; ++i) {
    const double a = ElementAsDouble(type, actual.bytes.data(), i);
    const double b = ElementAsDouble(type, expected.bytes.data(), i);
    double error = AbsoluteError(a, b);
    // 64-bit integers beyond 2^53 can differ while their doubles agree.
    const bool differ = comparison.exact ? std::memcmp(actual.bytes.data() + i * element_bytes,
                                                       expected.bytes.data() + i * element_bytes,
                                                       element_bytes) != 0
                                         : error != 0;
    if (differ && error == 0) error = 1;
    comparison.differing_elements += differ ? 1 : 0;
    comparison.max_abs_error = std::max(comparison.max_abs_error, error);
    comparison.sum_abs_error += error;
    if (!std::isnan(b))
      comparison.max_abs_reference = std::max(comparison.max_abs_reference, std::fabs(b));
  }
  if (comparison.max_abs_error > 0) {
    comparison.max_rel_error =
        comparison.max_abs_error / (comparison.max_abs_reference + kRelativeErrorFloor);
    // inf / inf: an infinite reference met a value that is not the same infinity.
    if (std::isnan(comparison.max_rel_error)) {
      comparison.max_rel_error = std::numeric_limits<double>::infinity();
    }
  }
  return comparison;
}

}  // namespace speech
