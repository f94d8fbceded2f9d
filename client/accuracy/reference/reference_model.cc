#include "client/accuracy/reference/reference_model.h"

#include <torch/script.h>

#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "proto/tensor_types.h"

namespace speech {

struct ReferenceModel::State {
  torch::jit::Module module;
  torch::Device device = torch::kCPU;
};

namespace {

constexpr std::pair<DataType, torch::ScalarType> kTypes[] = {
    {inference::TYPE_BOOL, torch::kBool},  {inference::TYPE_UINT8, torch::kByte},
    {inference::TYPE_INT8, torch::kChar},  {inference::TYPE_INT16, torch::kShort},
    {inference::TYPE_INT32, torch::kInt},  {inference::TYPE_INT64, torch::kLong},
    {inference::TYPE_FP16, torch::kHalf},  {inference::TYPE_BF16, torch::kBFloat16},
    {inference::TYPE_FP32, torch::kFloat}, {inference::TYPE_FP64, torch::kDouble},
};

std::optional<torch::ScalarType> ScalarTypeOf(DataType type) {
  for (const auto& [data_type, scalar_type] : kTypes) {
    if (data_type == type) return scalar_type;
  }
  return std::nullopt;
}

std::optional<DataType> DataTypeOf(torch::ScalarType type) {
  for (const auto& [data_type, scalar_type] : kTypes) {
    if (scalar_type == type) return data_type;
  }
  return std::nullopt;
}

// Every datatype and batch input of `config` is one this runner supports.
absl::Status CheckSupported(const inference::ModelConfig& config, const std::string& path) {
  auto unsupported = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", what));
  };
  for (const inference::ModelInput& input : config.input()) {
    if (!ScalarTypeOf(input.data_type()).has_value()) {
      return unsupported(absl::StrCat("input '", input.name(), "' has data_type ",
                                      inference::DataType_Name(input.data_type()),
                                      ", which LibTorch does not have"));
    }
  }
  for (const inference::ModelOutput& output : config.output()) {
    if (!ScalarTypeOf(output.data_type()).has_value()) {
      return unsupported(absl::StrCat("output '", output.name(), "' has data_type ",
                                      inference::DataType_Name(output.data_type()),
                                      ", which LibTorch does not have"));
    }
  }
  for (const inference::BatchInput& batch_input : config.batch_input()) {
    const std::string name =
        batch_input.target_name_size() > 0 ? batch_input.target_name(0) : std::string("?");
    if (batch_input.kind() != inference::BatchInput::BATCH_ELEMENT_COUNT &&
        batch_input.kind() != inference::BatchInput::BATCH_ITEM_SHAPE) {
      return unsupported(absl::StrCat("batch input '", name, "' is ",
                                      inference::BatchInput::Kind_Name(batch_input.kind()),
                                      "; only BATCH_ELEMENT_COUNT and BATCH_ITEM_SHAPE are run"));
    }
    if (batch_input.data_type() != inference::TYPE_INT32 &&
        batch_input.data_type() != inference::TYPE_INT64) {
      return unsupported(absl::StrCat("batch input '", name, "' has data_type ",
                                      inference::DataType_Name(batch_input.data_type()),
                                      "; expected TYPE_INT32 or TYPE_INT64"));
    }
    if (batch_input.source_input_size() != 1) {
      return unsupported(absl::StrCat("batch input '", name, "' needs one source_input"));
    }
  }
  return absl::OkStatus();
}

const HostTensor* FindInput(absl::Span<const HostTensor> inputs, const std::string& name) {
  for (const HostTensor& input : inputs) {
    if (input.name == name) return &input;
  }
  return nullptr;
}

// The configured input `spec` from `inputs` as a tensor on the host.
absl::StatusOr<torch::Tensor> InputTensor(absl::Span<const HostTensor> inputs,
                                          const inference::ModelInput& spec) {
  const HostTensor* input = FindInput(inputs, spec.name());
  if (input == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("input '", spec.name(), "' is missing"));
  }
  const std::string configured(DataTypeWireName(spec.data_type()));
  if (input->datatype != configured) {
    return absl::InvalidArgumentError(absl::StrCat("input '", spec.name(), "' is ", input->datatype,
                                                   "; the model takes ", configured));
  }
  if (absl::Status valid = ValidateTensor(*input); !valid.ok()) return valid;
  torch::Tensor tensor =
      torch::empty(input->shape, torch::TensorOptions().dtype(*ScalarTypeOf(spec.data_type())));
  if (!input->bytes.empty())
    std::memcpy(tensor.data_ptr(), input->bytes.data(), input->bytes.size());
  return tensor;
}

// What the server fills `batch_input` with for a request whose source input has `shape`.
torch::Tensor BatchInputTensor(const inference::BatchInput& batch_input,
                               const std::vector<int64_t>& shape, bool batching) {
  const int64_t rows = batching && !shape.empty() ? shape[0] : 1;
  const std::vector<int64_t> item(shape.begin() + (batching && !shape.empty() ? 1 : 0),
                                  shape.end());
  std::vector<int64_t> values;
  for (int64_t r = 0; r < rows; ++r) {
    if (batch_input.kind() == inference::BatchInput::BATCH_ITEM_SHAPE) {
      values.insert(values.end(), item.begin(), item.end());
    } else {
      values.push_back(ElementCount(item));
    }
  }
  const int64_t width = batch_input.kind() == inference::BatchInput::BATCH_ITEM_SHAPE
                            ? static_cast<int64_t>(item.size())
                            : 1;
  torch::Tensor tensor = torch::tensor(values, torch::kLong).reshape({rows, width});
  return batch_input.data_type() == inference::TYPE_INT32 ? tensor.to(torch::kInt) : tensor;
}

// forward()'s result as a list of tensors.
absl::StatusOr<std::vector<torch::Tensor>> ResultTensors(const torch::jit::IValue& result) {
  std::vector<torch::Tensor> tensors;
  if (result.isTensor()) {
    tensors.push_back(result.toTensor());
  } else if (result.isTuple() || result.isList()) {
    const std::vector<torch::jit::IValue> elements =
        result.isTuple() ? result.toTupleRef().elements().vec() : result.toList().vec();
    for (const torch::jit::IValue& element : elements) {
      if (!element.isTensor()) {
        return absl::InternalError(absl::StrCat("forward() returned a ", result.tagKind(),
                                                " holding a ", element.tagKind(),
                                                "; expected tensors"));
      }
      tensors.push_back(element.toTensor());
    }
  } else {
    return absl::InternalError(
        absl::StrCat("forward() returned a ", result.tagKind(), "; expected tensors"));
  }
  return tensors;
}

// The per-row dims a client sees of an output whose model dims (without the batch dimension)
// are `model_dims`: those, or the configured dims where a `reshape` is declared, their one
// variable dimension sized by the element count.
std::vector<int64_t> ClientDims(const inference::ModelOutput& spec,
                                const std::vector<int64_t>& model_dims) {
  if (!spec.has_reshape()) return model_dims;
  const int64_t elements = ElementCount(model_dims);
  std::vector<int64_t> dims(spec.dims().begin(), spec.dims().end());
  int64_t known = 1;
  for (int64_t dim : dims) known *= dim >= 0 ? dim : 1;
  for (int64_t& dim : dims) {
    if (dim < 0) dim = known == 0 ? 0 : elements / known;
  }
  return dims;
}

// Output `spec` of forward() as the host tensor a client would see.
absl::StatusOr<HostTensor> OutputTensor(const torch::Tensor& result,
                                        const inference::ModelOutput& spec, bool batching,
                                        int64_t rows) {
  const torch::Tensor tensor = result.to(torch::kCPU).contiguous();
  const std::optional<DataType> type = DataTypeOf(tensor.scalar_type());
  if (type != spec.data_type()) {
    return absl::InternalError(absl::StrCat(
        "forward() returned output '", spec.name(), "' as ", c10::toString(tensor.scalar_type()),
        "; the configuration says ", inference::DataType_Name(spec.data_type())));
  }
  std::vector<int64_t> shape = tensor.sizes().vec();
  if (batching && (shape.empty() || shape[0] != rows)) {
    return absl::InternalError(absl::StrCat("forward() returned output '", spec.name(),
                                            "' of shape ", ShapeToString(shape), "; expected ",
                                            rows, " rows along the batch dimension"));
  }
  HostTensor output;
  output.name = spec.name();
  output.datatype = std::string(DataTypeWireName(spec.data_type()));
  if (batching) {
    output.shape = {rows};
    const std::vector<int64_t> dims = ClientDims(spec, {shape.begin() + 1, shape.end()});
    output.shape.insert(output.shape.end(), dims.begin(), dims.end());
  } else {
    output.shape = ClientDims(spec, shape);
  }
  output.bytes.assign(static_cast<const char*>(tensor.data_ptr()), tensor.nbytes());
  return output;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ReferenceModel>> ReferenceModel::Create(Options options) {
  const std::string& path = options.model_path;
  if (!std::filesystem::is_regular_file(path)) {
    return absl::NotFoundError(absl::StrCat("model file ", path, " does not exist"));
  }
  if (absl::Status supported = CheckSupported(options.config, path); !supported.ok()) {
    return supported;
  }
  auto state = std::make_unique<State>();
  try {
    state->device = torch::Device(options.device);
    state->module = torch::jit::load(path, state->device);
    state->module.eval();
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("model file ", path, " on device ", options.device, ": ", e.what()));
  }
  const auto forward = state->module.find_method("forward");
  if (!forward) {
    return absl::InvalidArgumentError(absl::StrCat("model file ", path, " has no forward()"));
  }
  const size_t arguments = forward->function().getSchema().arguments().size() - 1;
  const size_t configured =
      static_cast<size_t>(options.config.input_size() + options.config.batch_input_size());
  if (arguments != configured) {
    return absl::InvalidArgumentError(
        absl::StrCat("model file ", path, ": forward() takes ", arguments,
                     " inputs but the configuration has ", options.config.input_size(),
                     " inputs and ", options.config.batch_input_size(), " batch inputs"));
  }
  return std::unique_ptr<ReferenceModel>(new ReferenceModel(std::move(options), std::move(state)));
}

ReferenceModel::ReferenceModel(Options options, std::unique_ptr<State> state)
    : options_(std::move(options)), state_(std::move(state)) {}

ReferenceModel::~ReferenceModel() = default;

absl::StatusOr<std::vector<HostTensor>> ReferenceModel::Run(absl::Span<const HostTensor> inputs) {
  const inference::ModelConfig& config = options_.config;
  const bool batching = config.max_batch_size() > 0;
  std::vector<torch::jit::IValue> arguments;
  int64_t rows = 1;
  for (const inference::ModelInput& spec : config.input()) {
    absl::StatusOr<torch::Tensor> tensor = InputTensor(inputs, spec);
    if (!tensor.ok()) return tensor.status();
    if (batching && arguments.empty()) rows = tensor->dim() > 0 ? tensor->size(0) : 0;
    arguments.emplace_back(tensor->to(state_->device));
  }
  for (const inference::BatchInput& batch_input : config.batch_input()) {
    const HostTensor* source = FindInput(inputs, batch_input.source_input(0));
    if (source == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("batch input '", batch_input.target_name(0),
                                                     "': source input '",
                                                     batch_input.source_input(0), "' is missing"));
    }
    arguments.emplace_back(
        BatchInputTensor(batch_input, source->shape, batching).to(state_->device));
  }
  std::vector<HostTensor> outputs;
  try {
    c10::InferenceMode inference_mode;
    const torch::jit::IValue result = state_->module.forward(std::move(arguments));
    absl::StatusOr<std::vector<torch::Tensor>> tensors = ResultTensors(result);
    if (!tensors.ok()) return tensors.status();
    if (static_cast<int>(tensors->size()) != config.output_size()) {
      return absl::InternalError(absl::StrCat("forward() returned ", tensors->size(),
                                              " tensors; the configuration lists ",
                                              config.output_size(), " outputs"));
    }
    for (int j = 0; j < config.output_size(); ++j) {
      absl::StatusOr<HostTensor> output =
          OutputTensor((*tensors)[j], config.output(j), batching, rows);
      if (!output.ok()) return output.status();
      outputs.push_back(*std::move(output));
    }
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat("forward() failed: ", e.what()));
  }
  return outputs;
}

}  // namespace speech
