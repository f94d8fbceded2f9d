#include "client/infer_inputs.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

bool IsBatched(absl::Span<const int64_t> metadata_shape, const InputSpec& spec) {
  if (spec.model_batches.has_value()) return *spec.model_batches && !metadata_shape.empty();
  return metadata_shape.size() >= 2 && metadata_shape[0] == -1;
}

// For a file input without an explicit shape: fills the one variable non-batch dimension from the
// file size when that is unambiguous, else falls back to ResolveShape.
absl::StatusOr<std::vector<int64_t>> ShapeForFile(const std::string& path,
                                                  absl::Span<const int64_t> metadata_shape,
                                                  absl::string_view datatype, bool batched,
                                                  const InputSpec& spec) {
  std::vector<int64_t> shape =
      ResolveShape(metadata_shape, batched, spec.batch_size, /*length=*/-1);
  const size_t element_size = DataTypeByteSize(DataTypeFromWireName(datatype));
  int unknown = -1;
  int64_t known = 1;
  for (int i = 0; i < static_cast<int>(shape.size()); ++i) {
    if (shape[i] >= 0) {
      known *= shape[i];
    } else if (unknown >= 0) {
      unknown = -2;  // more than one: ambiguous
    } else if (unknown == -1) {
      unknown = i;
    }
  }
  if (unknown < 0 || element_size == 0 || known == 0) {
    return ResolveShape(metadata_shape, batched, spec.batch_size, spec.length);
  }
  std::error_code error;
  const uintmax_t file_bytes = std::filesystem::file_size(path, error);
  if (error) {
    return absl::NotFoundError(absl::StrCat("cannot stat ", path, ": ", error.message()));
  }
  const uintmax_t row_bytes = static_cast<uintmax_t>(known) * element_size;
  if (file_bytes % row_bytes != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("file ", path, " has ", file_bytes, " bytes, not a multiple of ", row_bytes,
                     " as shape ", ShapeToString(shape), " of ", datatype, " needs; pass --shape"));
  }
  shape[unknown] = static_cast<int64_t>(file_bytes / row_bytes);
  return shape;
}

}  // namespace

std::vector<int64_t> ResolveShape(absl::Span<const int64_t> metadata_shape, bool batched,
                                  int64_t batch_size, int64_t length) {
  std::vector<int64_t> shape(metadata_shape.begin(), metadata_shape.end());
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i == 0 && batched) {
      if (shape[0] < 0) shape[0] = batch_size;
    } else if (shape[i] < 0) {
      shape[i] = length;
    }
  }
  return shape;
}

absl::StatusOr<std::vector<HostTensor>> BuildInputs(
    const inference::ModelMetadataResponse& metadata, const InputSpec& spec) {
  if (spec.batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be positive; was ", spec.batch_size));
  }
  if (spec.length <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("length must be positive; was ", spec.length));
  }
  std::vector<std::string> names;
  for (const auto& input : metadata.inputs()) names.push_back(input.name());
  auto check_known = [&](const std::string& name, absl::string_view flag) -> absl::Status {
    if (std::find(names.begin(), names.end(), name) != names.end()) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(flag, " names input \"", name, "\" but model ",
                                                   metadata.name(), " has inputs [",
                                                   absl::StrJoin(names, ", "), "]"));
  };
  for (const auto& [name, shape] : spec.shapes) {
    absl::Status known = check_known(name, "--shape");
    if (!known.ok()) return known;
  }
  for (const auto& [name, path] : spec.files) {
    absl::Status known = check_known(name, "--input");
    if (!known.ok()) return known;
  }

  std::vector<HostTensor> tensors;
  for (int i = 0; i < metadata.inputs_size(); ++i) {
    const auto& input = metadata.inputs(i);
    const std::vector<int64_t> metadata_shape(input.shape().begin(), input.shape().end());
    const bool batched = IsBatched(metadata_shape, spec);
    const auto shape_it = spec.shapes.find(input.name());
    const auto file_it = spec.files.find(input.name());
    std::vector<int64_t> shape;
    if (shape_it != spec.shapes.end()) {
      shape = ResolveShape(shape_it->second, /*batched=*/false, spec.batch_size, spec.length);
    } else if (file_it != spec.files.end()) {
      absl::StatusOr<std::vector<int64_t>> from_file =
          ShapeForFile(file_it->second, metadata_shape, input.datatype(), batched, spec);
      if (!from_file.ok()) return from_file.status();
      shape = *std::move(from_file);
    } else {
      shape = ResolveShape(metadata_shape, batched, spec.batch_size, spec.length);
    }
    absl::StatusOr<HostTensor> tensor =
        file_it != spec.files.end()
            ? ReadInputFile(file_it->second, input.name(), input.datatype(), shape)
            : GenerateInput(input.name(), input.datatype(), shape, spec.fill_mode,
                            spec.seed + static_cast<uint64_t>(i), spec.int_low, spec.int_high);
    if (!tensor.ok()) return tensor.status();
    tensors.push_back(*std::move(tensor));
  }
  return tensors;
}

absl::StatusOr<std::pair<std::string, std::string>> SplitNamedValue(absl::string_view text) {
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return absl::InvalidArgumentError(absl::StrCat("expected NAME:VALUE; got \"", text, "\""));
  }
  return std::make_pair(std::string(text.substr(0, colon)), std::string(text.substr(colon + 1)));
}

absl::StatusOr<std::vector<int64_t>> ParseDims(absl::string_view text) {
  std::vector<int64_t> dims;
  if (text.empty()) return dims;  // a scalar
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t dim;
    if (!absl::SimpleAtoi(part, &dim) || dim < -1) {
      return absl::InvalidArgumentError(
          absl::StrCat("expected comma-separated dimensions like 1,80,-1; got \"", text, "\""));
    }
    dims.push_back(dim);
  }
  return dims;
}

absl::StatusOr<std::pair<int64_t, int64_t>> ParseIntRange(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, ',');
  int64_t low;
  int64_t high;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &low) ||
      !absl::SimpleAtoi(parts[1], &high) || low >= high) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected LO,HI with LO < HI; got \"", text, "\""));
  }
  return std::make_pair(low, high);
}

absl::Status AddShapeFlags(absl::Span<const std::string> values,
                           std::map<std::string, std::vector<int64_t>>* shapes) {
  for (const std::string& value : values) {
    absl::StatusOr<std::pair<std::string, std::string>> named = SplitNamedValue(value);
    if (!named.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--shape: ", named.status().message()));
    }
    absl::StatusOr<std::vector<int64_t>> dims = ParseDims(named->second);
    if (!dims.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--shape: ", dims.status().message()));
    }
    (*shapes)[named->first] = *std::move(dims);
  }
  return absl::OkStatus();
}

}  // namespace speech
