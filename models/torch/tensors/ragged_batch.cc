#include "models/torch/tensors/ragged_batch.h"

#include <algorithm>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

// Positions of the variable dimensions of `dims`, in a shape that starts with the batch
// dimension.
std::vector<int> VariablePositions(const google::protobuf::RepeatedField<int64_t>& dims) {
  std::vector<int> positions;
  for (int d = 0; d < dims.size(); ++d) {
    if (dims[d] < 0) positions.push_back(d + 1);
  }
  return positions;
}

const inference::BatchOutput* CutRuleOf(const inference::ModelConfig& config,
                                        const std::string& output) {
  for (const inference::BatchOutput& rule : config.batch_output()) {
    for (const std::string& target : rule.target_name()) {
      if (target == output) return &rule;
    }
  }
  return nullptr;
}

int IndexOfInput(const inference::ModelConfig& config, const std::string& name) {
  for (int i = 0; i < config.input_size(); ++i) {
    if (config.input(i).name() == name) return i;
  }
  return -1;
}

int IndexOfOutput(const inference::ModelConfig& config, const std::string& name) {
  for (int i = 0; i < config.output_size(); ++i) {
    if (config.output(i).name() == name) return i;
  }
  return -1;
}

}  // namespace

int64_t BucketedSize(int64_t longest, double fraction, int64_t cap) {
  int64_t step = 1;
  while (step * 2 <= fraction * static_cast<double>(longest)) step *= 2;
  const int64_t bucketed = (longest + step - 1) / step * step;
  if (cap > 0 && bucketed > cap) return std::max(longest, cap);
  return bucketed;
}

bool PadsFurther(const std::vector<int64_t>& shape, const inference::ModelInput& spec) {
  const double fraction = spec.ragged_padding().bucket_fraction();
  if (fraction <= 0) return false;
  for (int d : VariablePositions(spec.dims())) {
    if (BucketedSize(shape[d], fraction, spec.constraints().max_length()) != shape[d]) return true;
  }
  return false;
}

namespace {

// The shape of input `index` of `batch` padded to its longest item, batch dimension first.
std::vector<int64_t> LongestShape(absl::Span<InferenceRequest* const> batch, int index,
                                  const std::vector<int>& variable) {
  std::vector<int64_t> dims = batch.front()->inputs[index].shape;
  dims[0] = 0;
  for (const InferenceRequest* request : batch) {
    const std::vector<int64_t>& shape = request->inputs[index].shape;
    dims[0] += shape[0];
    for (int d : variable) dims[d] = std::max(dims[d], shape[d]);
  }
  return dims;
}

}  // namespace

uint64_t ExactShapeKey(absl::Span<InferenceRequest* const> batch,
                       const inference::ModelConfig& config) {
  size_t key = 0;
  for (int i = 0; i < config.input_size(); ++i) {
    const inference::ModelInput& spec = config.input(i);
    if (!spec.has_ragged_padding() || spec.ragged_padding().bucket_fraction() <= 0) continue;
    key = absl::HashOf(key, i, LongestShape(batch, i, VariablePositions(spec.dims())));
  }
  return key;
}

torch::Tensor GatherPadded(absl::Span<InferenceRequest* const> batch, int index,
                           const inference::ModelInput& spec, bool buckets,
                           const torch::TensorOptions& options, int64_t* real, int64_t* padded) {
  const std::vector<int> variable = VariablePositions(spec.dims());
  std::vector<int64_t> dims = LongestShape(batch, index, variable);
  if (buckets) {
    for (int d : variable) {
      dims[d] = BucketedSize(dims[d], spec.ragged_padding().bucket_fraction(),
                             spec.constraints().max_length());
    }
  }
  torch::Tensor tensor = torch::full(dims, spec.ragged_padding().pad_value(), options);
  int64_t row = 0;
  for (const InferenceRequest* request : batch) {
    const InputTensor& input = request->inputs[index];
    torch::Tensor source =
        torch::from_blob(const_cast<char*>(input.data), input.shape, options.pinned_memory(false));
    torch::Tensor target = tensor.narrow(0, row, input.shape[0]);
    for (int d : variable) target = target.narrow(d, 0, input.shape[d]);
    target.copy_(source);
    row += input.shape[0];
    *real += ElementCount(input.shape);
  }
  *padded += tensor.numel();
  return tensor;
}

std::vector<torch::Tensor> BatchInputs(absl::Span<InferenceRequest* const> batch,
                                       const inference::ModelConfig& config) {
  std::vector<torch::Tensor> tensors;
  for (const inference::BatchInput& batch_input : config.batch_input()) {
    const int source = IndexOfInput(config, batch_input.source_input(0));
    const bool shapes = batch_input.kind() == inference::BatchInput::BATCH_ITEM_SHAPE;
    std::vector<int64_t> values;
    int64_t rows = 0;
    for (const InferenceRequest* request : batch) {
      const std::vector<int64_t>& shape = request->inputs[source].shape;
      const std::vector<int64_t> item(shape.begin() + 1, shape.end());
      for (int64_t r = 0; r < shape[0]; ++r) {
        if (shapes) {
          values.insert(values.end(), item.begin(), item.end());
        } else {
          values.push_back(ElementCount(item));
        }
      }
      rows += shape[0];
    }
    const int64_t width = rows == 0 ? 1 : static_cast<int64_t>(values.size()) / rows;
    torch::Tensor tensor = torch::tensor(values, torch::kLong).reshape({rows, width});
    if (batch_input.data_type() == inference::TYPE_INT32) tensor = tensor.to(torch::kInt);
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

absl::StatusOr<torch::Tensor> CutOutput(const std::vector<torch::Tensor>& outputs, int index,
                                        const inference::ModelConfig& config,
                                        const InferenceRequest& request, int64_t first_row) {
  const inference::ModelOutput& spec = config.output(index);
  torch::Tensor part = outputs[index].narrow(0, first_row, request.batch_rows);
  const inference::BatchOutput* rule = CutRuleOf(config, spec.name());
  if (rule == nullptr) return part;
  const std::vector<int> positions =
      VariablePositions(spec.has_reshape() ? spec.reshape().shape() : spec.dims());
  std::vector<int64_t> lengths;
  if (rule->kind() == inference::BatchOutput::BATCH_SCATTER_WITH_INPUT_SHAPE) {
    const int source = IndexOfInput(config, rule->source_input(0));
    const inference::ModelInput& source_spec = config.input(source);
    for (int d : VariablePositions(source_spec.dims())) {
      lengths.push_back(request.inputs[source].shape[d]);
    }
  } else {
    const int source = IndexOfOutput(config, rule->source_output(0));
    const torch::Tensor values =
        outputs[source].narrow(0, first_row, request.batch_rows).reshape({-1}).to(torch::kLong);
    lengths.push_back(values.max().item<int64_t>());
  }
  for (size_t k = 0; k < positions.size() && k < lengths.size(); ++k) {
    const int d = positions[k];
    if (d >= part.dim() || lengths[k] < 0 || lengths[k] > part.size(d)) {
      return absl::InternalError(absl::StrCat("output '", spec.name(), "': cannot cut dimension ",
                                              d, " of ", ShapeToString(part.sizes().vec()), " to ",
                                              lengths[k]));
    }
    part = part.narrow(d, 0, lengths[k]);
  }
  return part;
}

}  // namespace speech
