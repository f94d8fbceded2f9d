#include "client/tensor_summary.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "proto/bytes_elements.h"
#include "proto/element_values.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

std::string FormatNumber(double value) { return absl::StrFormat("%.6g", value); }

std::string SummarizeStrings(const HostTensor& tensor, int max_values) {
  // REQUIRES (SummarizeTensor checks it first): the bytes are well-formed BYTES elements.
  const std::vector<absl::string_view> elements = *SplitBytesElements(tensor.bytes, tensor.name);
  std::vector<std::string> shown;
  for (size_t i = 0; i < elements.size() && i < static_cast<size_t>(max_values); ++i) {
    constexpr size_t kMaxChars = 80;
    const absl::string_view text = elements[i].substr(0, kMaxChars);
    shown.push_back(absl::StrCat("\"", absl::CHexEscape(text),
                                 elements[i].size() > kMaxChars ? "..." : "", "\""));
  }
  return absl::StrCat("first [", absl::StrJoin(shown, ", "),
                      elements.size() > static_cast<size_t>(max_values) ? ", ..." : "", "]");
}

}  // namespace

std::string SummarizeTensor(const HostTensor& tensor, int max_values) {
  const std::string head =
      absl::StrCat(tensor.name, " ", tensor.datatype, " ", ShapeToString(tensor.shape), ": ");
  absl::Status valid = ValidateTensor(tensor);
  if (!valid.ok()) return absl::StrCat(head, "invalid (", valid.message(), ")");
  const DataType type = DataTypeFromWireName(tensor.datatype);
  const int64_t count = ElementCount(tensor.shape);
  if (count == 0) return absl::StrCat(head, "empty");
  if (type == inference::TYPE_STRING) return head + SummarizeStrings(tensor, max_values);

  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();
  double sum = 0;
  int64_t nans = 0;
  std::vector<std::string> first;
  for (int64_t i = 0; i < count; ++i) {
    const double value = ElementAsDouble(type, tensor.bytes.data(), i);
    if (i < max_values) first.push_back(FormatNumber(value));
    if (std::isnan(value)) {
      ++nans;
      continue;
    }
    min = std::min(min, value);
    max = std::max(max, value);
    sum += value;
  }
  std::string summary = head;
  if (nans < count) {
    absl::StrAppend(&summary, "min ", FormatNumber(min), " max ", FormatNumber(max), " mean ",
                    FormatNumber(sum / static_cast<double>(count - nans)), " ");
  }
  if (nans > 0) absl::StrAppend(&summary, "nan ", nans, " ");
  absl::StrAppend(&summary, "first [", absl::StrJoin(first, ", "),
                  count > max_values ? ", ...]" : "]");
  return summary;
}

}  // namespace speech
