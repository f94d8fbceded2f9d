// How one output that the server returned compares with the reference's: datatype and shape
// must match exactly; integer and BOOL elements (and BYTES tensors) must be equal; floating-point
// elements (FP16, BF16, FP32, FP64) are measured by their absolute and relative error. Pure
// functions over plain values.
#ifndef SPEECH_CLIENT_ACCURACY_COMPARE_TENSOR_COMPARE_H_
#define SPEECH_CLIENT_ACCURACY_COMPARE_TENSOR_COMPARE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "client/tensor_util.h"

namespace speech {

// Added to the reference's largest magnitude in the relative error's denominator, so that an
// all-zero reference gives a finite (if large) error for any finite difference.
inline constexpr double kRelativeErrorFloor = 1e-12;

// The relative error's definition, as --help and the CSV's header comment state it.
inline constexpr char kRelativeErrorDefinition[] =
    "relative error of one request's output = max|server - reference| / "
    "(max|reference| + 1e-12), both maxima over the output's elements; max_rel_error is its "
    "maximum over requests";

// One output of one request. A plain value type.
struct TensorComparison {
  // The reply did not hold the output; nothing else is set.
  bool missing = false;
  // The datatype, shape or payload size differ (`detail` says how); no element was compared.
  bool shape_mismatch = false;
  std::string detail;
  // Elements must be equal (integer, BOOL, BYTES) rather than close (floating point).
  bool exact = false;
  // Elements compared.
  int64_t elements = 0;
  // Elements that are not equal; NaN equals NaN and infinities of one sign equal each other.
  // BYTES tensors count 1 when their bytes differ at all.
  int64_t differing_elements = 0;
  // Over the elements: the largest |server - reference| (+inf where exactly one is NaN or an
  // infinity meets another value), their sum, and the largest |reference|.
  double max_abs_error = 0;
  double sum_abs_error = 0;
  double max_abs_reference = 0;
  // max_abs_error / (max_abs_reference + kRelativeErrorFloor); 0 when nothing differs.
  double max_rel_error = 0;
};

// Whether elements of `datatype` (a KServe wire name) compare exactly: every type but FP16,
// BF16, FP32 and FP64.
bool IsExactDatatype(absl::string_view datatype);

// Compares `actual` (the server's) with `expected` (the reference's). REQUIRES: `expected` is
// well formed (ValidateTensor); `actual` may be anything.
TensorComparison CompareTensors(const HostTensor& actual, const HostTensor& expected);

// The comparison of an output the reply did not hold.
TensorComparison MissingOutput();

}  // namespace speech

#endif  // SPEECH_CLIENT_ACCURACY_COMPARE_TENSOR_COMPARE_H_
