#include "proto/bytes_elements.h"

#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "proto/check.h"

namespace speech {

absl::StatusOr<std::vector<absl::string_view>> SplitBytesElements(absl::string_view raw,
                                                                  absl::string_view what) {
  std::vector<absl::string_view> elements;
  while (!raw.empty()) {
    uint32_t length;
    if (raw.size() < sizeof(length)) {
      return absl::InvalidArgumentError(absl::StrCat(
          what, ": element ", elements.size(), " has a length prefix cut short (", raw.size(),
          " of 4 bytes)"));
    }
    std::memcpy(&length, raw.data(), sizeof(length));  // little-endian, as the wire
    raw.remove_prefix(sizeof(length));
    if (raw.size() < length) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": element ", elements.size(),
                                                     " declares ", length, " bytes but only ",
                                                     raw.size(), " remain"));
    }
    elements.push_back(raw.substr(0, length));
    raw.remove_prefix(length);
  }
  return elements;
}

void AppendBytesElement(absl::string_view element, std::string* raw) {
  const uint32_t length = CheckedCast<uint32_t>(element.size());
  raw->append(reinterpret_cast<const char*>(&length), sizeof(length));
  raw->append(element.data(), element.size());
}

}  // namespace speech
