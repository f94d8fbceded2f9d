// The --length-range flag: MIN:MAX bounds for the variable dimension of generated requests, and
// drawing a length from them. Any size of range is fine: nothing is enumerated.
#ifndef SPEECH_CLIENT_PERF_INPUTS_LENGTH_RANGE_H_
#define SPEECH_CLIENT_PERF_INPUTS_LENGTH_RANGE_H_

#include <cstdint>
#include <random>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace speech {

// Inclusive bounds. A plain value type.
struct LengthRange {
  int64_t min = 1;
  int64_t max = 1;

  // A length uniform in [min, max]; the same engine state gives the same length.
  int64_t Draw(std::mt19937_64& engine) const {
    return std::uniform_int_distribution<int64_t>(min, max)(engine);
  }
};

// "MIN:MAX" (whole numbers, 0 < MIN <= MAX) -> {MIN, MAX}. INVALID_ARGUMENT naming
// --length-range and quoting `text` otherwise.
absl::StatusOr<LengthRange> ParseLengthRange(absl::string_view text);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_INPUTS_LENGTH_RANGE_H_
