#include "client/perf/inputs/input_samples.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "proto/tensor_types.h"

namespace speech {

std::vector<int64_t> ConfiguredShape(const inference::ModelMetadataResponse::TensorMetadata& input,
                                     bool model_batches,
                                     const std::map<std::string, std::vector<int64_t>>& shapes) {
  const auto it = shapes.find(input.name());
  if (it != shapes.end()) return it->second;
  std::vector<int64_t> shape(input.shape().begin(), input.shape().end());
  if (model_batches && !shape.empty()) shape.erase(shape.begin());
  return shape;
}

absl::StatusOr<std::vector<int64_t>> ShapeForCount(absl::Span<const int64_t> configured,
                                                   int64_t count) {
  std::vector<int64_t> shape(configured.begin(), configured.end());
  const int variable = static_cast<int>(std::count(shape.begin(), shape.end(), -1));
  int64_t fixed = 1;
  for (int64_t dim : shape) {
    if (dim >= 0) fixed *= dim;
  }
  if (variable > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("shape ", ShapeToString(shape), " has ", variable,
                     " variable dimensions, so a count of values cannot size them; give the shape "
                     "({\"content\": [...], \"shape\": [...]} or --shape)"));
  }
  if (variable == 0) {
    if (fixed == count) return shape;
    return absl::InvalidArgumentError(
        absl::StrCat("shape ", ShapeToString(shape), " needs ", fixed, " values; got ", count));
  }
  if (fixed == 0 || count % fixed != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(count, " values do not fill shape ", ShapeToString(shape),
                     fixed == 0 ? "" : absl::StrCat(" (not a multiple of ", fixed, ")")));
  }
  *std::find(shape.begin(), shape.end(), -1) = count / fixed;
  return shape;
}

absl::Status CheckShapeFits(absl::Span<const int64_t> shape, absl::Span<const int64_t> configured) {
  bool fits = shape.size() == configured.size();
  for (size_t i = 0; i < shape.size() && fits; ++i) {
    fits = shape[i] >= 0 && (configured[i] < 0 || configured[i] == shape[i]);
  }
  if (fits) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("shape ", ShapeToString(shape),
                                                 " does not fit the model's shape ",
                                                 ShapeToString(configured)));
}

namespace {

// The rows of one request stacked into one tensor per input.
absl::StatusOr<std::vector<HostTensor>> StackRows(absl::Span<const InputSample* const> rows,
                                                  bool model_batches) {
  std::vector<HostTensor> stacked = rows.front()->tensors;
  for (size_t r = 1; r < rows.size(); ++r) {
    for (size_t i = 0; i < stacked.size(); ++i) {
      const HostTensor& row = rows[r]->tensors[i];
      if (row.shape != rows.front()->tensors[i].shape) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot batch ", rows.front()->source, " and ", rows[r]->source, ": input \"", row.name,
            "\" has shape ", ShapeToString(rows.front()->tensors[i].shape), " and ",
            ShapeToString(row.shape), "; rows of one request must have the same shape"));
      }
      stacked[i].bytes += row.bytes;
    }
  }
  if (model_batches) {
    for (HostTensor& tensor : stacked) {
      tensor.shape.insert(tensor.shape.begin(), static_cast<int64_t>(rows.size()));
    }
  }
  return stacked;
}

}  // namespace

absl::StatusOr<std::vector<inference::ModelInferRequest>> BatchSamples(
    absl::Span<const InputSample> samples, const SampleBatching& batching) {
  if (samples.empty()) return absl::InvalidArgumentError("no input samples");
  if (batching.batch_size <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch size must be positive; was ", batching.batch_size));
  }
  if (batching.batch_size > 1 && !batching.model_batches) {
    return absl::InvalidArgumentError(
        absl::StrCat("model ", batching.model, " does not batch; --batch-size must be 1"));
  }
  for (const InputSample& sample : samples) {
    bool same = sample.tensors.size() == samples.front().tensors.size();
    for (size_t i = 0; same && i < sample.tensors.size(); ++i) {
      same = sample.tensors[i].name == samples.front().tensors[i].name &&
             sample.tensors[i].datatype == samples.front().tensors[i].datatype;
    }
    if (!same) {
      return absl::InvalidArgumentError(absl::StrCat(
          sample.source, " does not hold the same inputs as ", samples.front().source));
    }
  }
  const size_t n = samples.size();
  const size_t b = static_cast<size_t>(batching.batch_size);
  std::vector<inference::ModelInferRequest> requests;
  requests.reserve(n);
  std::vector<const InputSample*> rows(b);
  for (size_t k = 0; k < n; ++k) {
    for (size_t j = 0; j < b; ++j) rows[j] = &samples[(k * b + j) % n];
    absl::StatusOr<std::vector<HostTensor>> tensors = StackRows(rows, batching.model_batches);
    if (!tensors.ok()) return tensors.status();
    requests.push_back(MakeInferRequest(batching.model, batching.version, *tensors, {}));
  }
  return requests;
}

}  // namespace speech
