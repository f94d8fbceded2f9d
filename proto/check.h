// The one idiom for broken invariants, shared by the server and its clients: SPEECH_CHECK aborts
// with the file, the line, the condition and a message. Use it only for what cannot happen; bad
// input from the network is an absl::Status, never a check.
#ifndef SPEECH_PROTO_CHECK_H_
#define SPEECH_PROTO_CHECK_H_

#include <limits>
#include <string>
#include <type_traits>

#include "absl/strings/str_cat.h"

namespace speech {
namespace check_internal {

[[noreturn]] void Fail(const char* file, int line, const char* condition,
                       const std::string& message);

}  // namespace check_internal

// SPEECH_CHECK(condition, message parts...): the parts are joined with absl::StrCat, and only
// evaluated when the condition is false.
#define SPEECH_CHECK(condition, ...)                                                          \
  do {                                                                                        \
    if (!(condition)) {                                                                       \
      ::speech::check_internal::Fail(__FILE__, __LINE__, #condition, ::absl::StrCat(__VA_ARGS__)); \
    }                                                                                         \
  } while (false)

// `value` converted to the integer type To; aborts (SPEECH_CHECK) when To cannot hold it, where a
// plain static_cast would silently wrap or be undefined.
template <typename To, typename From>
To CheckedCast(From value) {
  static_assert(std::is_integral_v<To> && std::is_integral_v<From>, "integers only");
  bool fits;
  if constexpr (std::is_signed_v<From> == std::is_signed_v<To>) {
    fits = value >= std::numeric_limits<To>::min() && value <= std::numeric_limits<To>::max();
  } else if constexpr (std::is_signed_v<From>) {  // signed to unsigned
    fits = value >= 0 &&
           static_cast<std::make_unsigned_t<From>>(value) <= std::numeric_limits<To>::max();
  } else {  // unsigned to signed
    fits = value <= static_cast<std::make_unsigned_t<To>>(std::numeric_limits<To>::max());
  }
  SPEECH_CHECK(fits, "integer ", value, " does not fit the target type");
  return static_cast<To>(value);
}

}  // namespace speech

#endif  // SPEECH_PROTO_CHECK_H_
