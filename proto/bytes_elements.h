// Triton's raw layout of BYTES tensors, shared by the server and the clients: each element is a
// 4-byte little-endian length followed by that many bytes, elements back to back.
#ifndef SPEECH_PROTO_BYTES_ELEMENTS_H_
#define SPEECH_PROTO_BYTES_ELEMENTS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace speech {

// The elements of `raw`, pointing into it. INVALID_ARGUMENT when the length prefixes do not tile
// it exactly: a prefix cut short, an element declaring more bytes than remain (naming the element
// and both numbers). Messages start with `what` (e.g. "input 'TEXT'").
absl::StatusOr<std::vector<absl::string_view>> SplitBytesElements(absl::string_view raw,
                                                                  absl::string_view what);

// Appends one element (its length, then its bytes) to `raw`. REQUIRES: element.size() < 2^32.
void AppendBytesElement(absl::string_view element, std::string* raw);

// The raw layout of `elements`, in order.
template <typename Strings>
std::string PackBytesElements(const Strings& elements) {
  std::string raw;
  for (const auto& element : elements) AppendBytesElement(element, &raw);
  return raw;
}

}  // namespace speech

#endif  // SPEECH_PROTO_BYTES_ELEMENTS_H_
