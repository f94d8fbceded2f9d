#include "client/perf/inputs/length_range.h"

#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace speech {

absl::StatusOr<LengthRange> ParseLengthRange(absl::string_view text) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  LengthRange range;
  auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--length-range: expected MIN:MAX, whole numbers with 0 < MIN <= MAX (", why,
                     "); got \"", text, "\""));
  };
  if (parts.size() != 2) return error("exactly one ':'");
  if (!absl::SimpleAtoi(parts[0], &range.min) || !absl::SimpleAtoi(parts[1], &range.max)) {
    return error("not whole numbers");
  }
  if (range.min <= 0) return error("MIN is not positive");
  if (range.max < range.min) return error("MAX is below MIN");
  return range;
}

}  // namespace speech
