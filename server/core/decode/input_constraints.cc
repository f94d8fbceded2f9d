#include "server/core/decode/input_constraints.h"

#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "proto/bytes_elements.h"
#include "proto/element_values.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

using inference::InputConstraints;
using inference::ModelInput;

std::string Number(double value) { return absl::StrCat(value); }

// The offset of the first byte of `text` that does not belong to a valid UTF-8 sequence (no
// overlong forms, no surrogates, nothing above U+10FFFF); -1 when it is all valid.
int64_t FirstInvalidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      length = 2;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      length = 3;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      length = 4;
      code = c & 0x07;
    } else {
      return static_cast<int64_t>(i);
    }
    if (i + length > text.size()) return static_cast<int64_t>(i);
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xC0) != 0x80) return static_cast<int64_t>(i);
      code = (code << 6) | (next & 0x3F);
    }
    const uint32_t smallest = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000;
    if (code < smallest || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
      return static_cast<int64_t>(i);
    }
    i += length;
  }
  return -1;
}

bool IsFloat(DataType type) {
  return type == inference::TYPE_FP16 || type == inference::TYPE_BF16 ||
         type == inference::TYPE_FP32 || type == inference::TYPE_FP64;
}

// Each variable dimension of the request's shape (after the batch dimension when batching).
absl::Status CheckLengths(const ModelInput& spec, const InputTensor& tensor, bool batching) {
  const InputConstraints& rule = spec.constraints();
  const size_t offset = batching ? 1 : 0;
  for (int d = 0; d < spec.dims_size(); ++d) {
    if (spec.dims(d) >= 0) continue;
    const int64_t length = tensor.shape[d + offset];
    const std::string where =
        absl::StrCat("input '", spec.name(), "': dimension ", d + offset, " of shape ",
                     ShapeToString(tensor.shape), " is ", length);
    if (length == 0 && spec.has_ragged_padding()) {
      return absl::InvalidArgumentError(absl::StrCat(where, "; expected at least 1 element"));
    }
    if (length < rule.min_length()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ", below the minimum ", rule.min_length(), " (constraints.min_length)"));
    }
    if (rule.max_length() > 0 && length > rule.max_length()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ", above the maximum ", rule.max_length(), " (constraints.max_length)"));
    }
  }
  return absl::OkStatus();
}

// Every BYTES element's size and, where asked, its UTF-8.
absl::Status CheckStrings(const ModelInput& spec, const InputTensor& tensor) {
  const InputConstraints& rule = spec.constraints();
  if (rule.min_element_bytes() == 0 && rule.max_element_bytes() == 0 && !rule.utf8()) {
    return absl::OkStatus();
  }
  const std::string what = absl::StrCat("input '", spec.name(), "'");
  absl::StatusOr<std::vector<absl::string_view>> elements =
      SplitBytesElements(absl::string_view(tensor.data, tensor.byte_size), what);
  if (!elements.ok()) return elements.status();
  for (size_t i = 0; i < elements->size(); ++i) {
    const absl::string_view element = (*elements)[i];
    const int64_t size = static_cast<int64_t>(element.size());
    if (size < rule.min_element_bytes()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": element ", i, " has ", size, " bytes, below the minimum ",
                       rule.min_element_bytes(), " (constraints.min_element_bytes)"));
    }
    if (rule.max_element_bytes() > 0 && size > rule.max_element_bytes()) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, ": element ", i, " has ", size, " bytes, above the maximum ",
                       rule.max_element_bytes(), " (constraints.max_element_bytes)"));
    }
    if (rule.utf8()) {
      const int64_t bad = FirstInvalidUtf8(element);
      if (bad >= 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            what, ": element ", i, " is not valid UTF-8 (byte ", bad, ") (constraints.utf8)"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckValues(const ModelInput& spec, const InputTensor& tensor) {
  if (tensor.type == inference::TYPE_STRING) return CheckStrings(spec, tensor);
  const InputConstraints& rule = spec.constraints();
  const bool finite = rule.finite() && IsFloat(tensor.type);
  if (!finite && !rule.has_min_value() && !rule.has_max_value()) return absl::OkStatus();
  const int64_t count = ElementCount(tensor.shape);
  for (int64_t i = 0; i < count; ++i) {
    const double value = ElementAsDouble(tensor.type, tensor.data, i);
    if (finite && !std::isfinite(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", spec.name(), "': element ", i, " is ", Number(value),
                       "; expected finite values (constraints.finite)"));
    }
    const bool low = rule.has_min_value() && !(value >= rule.min_value());
    const bool high = rule.has_max_value() && !(value <= rule.max_value());
    if (low || high) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", spec.name(), "': element ", i, " is ", Number(value), "; expected values in [",
          rule.has_min_value() ? Number(rule.min_value()) : "-inf", ", ",
          rule.has_max_value() ? Number(rule.max_value()) : "inf", "] (constraints)"));
    }
  }
  return absl::OkStatus();
}

// Every row (batch item; the whole tensor without batching) holds an element other than the pad
// value.
absl::Status CheckNotAllPad(const ModelInput& spec, const InputTensor& tensor, bool batching) {
  const double pad = spec.ragged_padding().pad_value();
  const int64_t count = ElementCount(tensor.shape);
  const int64_t rows = batching && !tensor.shape.empty() ? tensor.shape[0] : 1;
  if (rows == 0) return absl::OkStatus();
  const int64_t per_row = count / rows;
  for (int64_t row = 0; row < rows; ++row) {
    bool real = false;
    for (int64_t i = row * per_row; i < (row + 1) * per_row && !real; ++i) {
      real = ElementAsDouble(tensor.type, tensor.data, i) != pad;
    }
    if (!real) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", spec.name(), "': row ", row, " holds only the pad value ", Number(pad), " (",
          per_row, " elements); expected at least one other (constraints.not_all_pad)"));
    }
  }
  return absl::OkStatus();
}

// The lengths input `spec` (one integer per row) against the variable dimension of the input it
// describes.
absl::Status CheckLengthsOf(const inference::ModelConfig& config, const ModelInput& spec,
                            const InputTensor& lengths, const InferenceRequest& request) {
  const bool batching = config.max_batch_size() > 0;
  for (int k = 0; k < config.input_size(); ++k) {
    const ModelInput& data_spec = config.input(k);
    if (data_spec.name() != spec.constraints().lengths_of()) continue;
    int variable = 0;
    while (data_spec.dims(variable) >= 0) ++variable;
    const int64_t size = request.inputs[k].shape[variable + (batching ? 1 : 0)];
    const int64_t count = ElementCount(lengths.shape);
    for (int64_t i = 0; i < count; ++i) {
      const double value = ElementAsDouble(lengths.type, lengths.data, i);
      if (value < 1 || value > static_cast<double>(size)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", spec.name(), "': row ", i, " says ", Number(value), " elements of input '",
            data_spec.name(), "' are real, but it holds ", size,
            " along its variable dimension; expected a length in [1, ", size, "]"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckInputConstraints(const inference::ModelConfig& config,
                                   const InferenceRequest& request) {
  const bool batching = config.max_batch_size() > 0;
  for (int i = 0; i < config.input_size(); ++i) {
    const ModelInput& spec = config.input(i);
    if (!spec.has_constraints() && !spec.has_ragged_padding()) continue;
    const InputTensor& tensor = request.inputs[i];
    if (absl::Status s = CheckLengths(spec, tensor, batching); !s.ok()) return s;
    if (absl::Status s = CheckValues(spec, tensor); !s.ok()) return s;
    if (spec.constraints().not_all_pad()) {
      if (absl::Status s = CheckNotAllPad(spec, tensor, batching); !s.ok()) return s;
    }
    if (!spec.constraints().lengths_of().empty()) {
      if (absl::Status s = CheckLengthsOf(config, spec, tensor, request); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace speech
