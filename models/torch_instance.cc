#include "models/torch_instance.h"

#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "batcher/tensor.h"
#include "c10/core/StreamGuard.h"

#ifdef SPEECH_LIBTORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace speech {

struct TorchInstance::State {
  torch::jit::Module module;
  torch::Device device = torch::kCPU;
  std::optional<c10::Stream> stream;  // set on GPUs: the instance's own stream
};

namespace {

// LibTorch 1.13 has no unsigned types wider than 8 bits; configuration validation rejects them.
std::optional<torch::ScalarType> ToScalarType(DataType type) {
  switch (type) {
    case inference::TYPE_BOOL: return torch::kBool;
    case inference::TYPE_UINT8: return torch::kByte;
    case inference::TYPE_INT8: return torch::kChar;
    case inference::TYPE_INT16: return torch::kShort;
    case inference::TYPE_INT32: return torch::kInt;
    case inference::TYPE_INT64: return torch::kLong;
    case inference::TYPE_FP16: return torch::kHalf;
    case inference::TYPE_BF16: return torch::kBFloat16;
    case inference::TYPE_FP32: return torch::kFloat;
    case inference::TYPE_FP64: return torch::kDouble;
    default: return std::nullopt;
  }
}

// The per-row dims a client sees for an output whose model shape (without the batch dimension)
// is `model_dims`: the model's own dims, or the configured dims where a `reshape` is declared.
std::vector<int64_t> ClientDims(const inference::ModelOutput& output,
                                c10::IntArrayRef model_dims) {
  if (!output.has_reshape()) return model_dims.vec();
  int64_t elements = 1;
  for (int64_t dim : model_dims) elements *= dim;
  std::vector<int64_t> dims(output.dims().begin(), output.dims().end());
  int64_t known = 1;
  for (int64_t dim : dims) known *= dim >= 0 ? dim : 1;
  for (int64_t& dim : dims) {
    if (dim < 0) dim = known == 0 ? 0 : elements / known;
  }
  return dims;
}

void SynchronizeIfAsync(const std::optional<c10::Stream>& stream) {
  if (stream.has_value()) stream->synchronize();
}

}  // namespace

absl::StatusOr<std::unique_ptr<TorchInstance>> TorchInstance::Create(Options options) {
  const std::string& path = options.model_path;
  if (!std::filesystem::is_regular_file(path)) {
    return absl::NotFoundError(absl::StrCat("model file '", path, "' does not exist"));
  }
  auto state = std::make_unique<State>();
  try {
    state->device = torch::Device(options.device);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("instance '", options.instance_name, "': bad device '", options.device,
                     "': ", e.what()));
  }
  if (state->device.is_cuda()) {
    const int64_t index = state->device.has_index() ? state->device.index() : 0;
    if (!torch::cuda::is_available() ||
        index >= static_cast<int64_t>(torch::cuda::device_count())) {
      return absl::FailedPreconditionError(absl::StrCat(
          "instance '", options.instance_name, "' asks for device ", options.device,
          " but this host has ", torch::cuda::device_count(),
          " CUDA devices visible to LibTorch (CUDA build: ",
          torch::cuda::is_available() ? "yes" : "no or no driver", ")"));
    }
#ifdef SPEECH_LIBTORCH_CUDA
    state->stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
#endif
  }
  for (const inference::ModelInput& input : options.config.input()) {
    if (!ToScalarType(input.data_type()).has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input '", input.name(), "': data_type ", inference::DataType_Name(input.data_type()),
          " is not supported by LibTorch"));
    }
  }
  try {
    state->module = torch::jit::load(path, state->device);
    state->module.eval();
    const size_t arguments =
        state->module.get_method("forward").function().getSchema().arguments().size() - 1;
    const size_t configured = static_cast<size_t>(options.config.input_size());
    if (arguments != configured) {
      return absl::InvalidArgumentError(
          absl::StrCat("model file '", path, "': forward() takes ", arguments,
                       " inputs but the configuration lists ", configured));
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("model file '", path, "' could not be loaded by LibTorch: ", e.what()));
  }
  return std::unique_ptr<TorchInstance>(new TorchInstance(std::move(options), std::move(state)));
}

TorchInstance::TorchInstance(Options options, std::unique_ptr<State> state)
    : options_(std::move(options)), state_(std::move(state)) {}

TorchInstance::~TorchInstance() = default;

absl::Status TorchInstance::Execute(absl::Span<InferenceRequest* const> batch) {
  const inference::ModelConfig& config = options_.config;
  const bool batching = config.max_batch_size() > 0;
  const torch::Device device = state_->device;
  int64_t total_rows = 0;
  for (const InferenceRequest* request : batch) total_rows += request->batch_rows;
  PhaseTimes times;
  try {
    std::optional<c10::StreamGuard> stream_guard;
    if (state_->stream.has_value()) stream_guard.emplace(*state_->stream);
    c10::InferenceMode inference_mode;

    times.compute_input_start = options_.clock->Now();
    std::vector<torch::jit::IValue> inputs;
    inputs.reserve(config.input_size());
    for (int i = 0; i < config.input_size(); ++i) {
      const InputTensor& first = batch.front()->inputs[i];
      const auto options = torch::TensorOptions().dtype(*ToScalarType(first.type));
      torch::Tensor tensor;
      if (batch.size() == 1 && !device.is_cuda()) {
        // One request on the CPU: run straight on the bytes the request brought.
        tensor = torch::from_blob(const_cast<char*>(first.data), first.shape, options);
      } else {
        std::vector<int64_t> shape = first.shape;
        if (batching) shape[0] = total_rows;
        for (const InferenceRequest* request : batch) {
          const std::vector<int64_t>& other = request->inputs[i].shape;
          if (!std::equal(other.begin() + 1, other.end(), first.shape.begin() + 1,
                          first.shape.end())) {
            return absl::InternalError(absl::StrCat(
                "instance '", name(), "': input '", first.name, "' shapes ",
                ShapeToString(first.shape), " and ", ShapeToString(other),
                " cannot share a batch"));
          }
        }
        tensor = torch::empty(shape, options.pinned_memory(device.is_cuda()));
        char* destination = static_cast<char*>(tensor.data_ptr());
        for (const InferenceRequest* request : batch) {
          const InputTensor& input = request->inputs[i];
          std::memcpy(destination, input.data, input.byte_size);
          destination += input.byte_size;
        }
      }
      if (device.is_cuda()) tensor = tensor.to(device, /*non_blocking=*/true);
      inputs.emplace_back(std::move(tensor));
    }
    SynchronizeIfAsync(state_->stream);
    times.compute_input_end = options_.clock->Now();

    times.compute_infer_start = times.compute_input_end;
    torch::jit::IValue result = state_->module.forward(std::move(inputs));
    SynchronizeIfAsync(state_->stream);
    times.compute_infer_end = options_.clock->Now();

    times.compute_output_start = times.compute_infer_end;
    std::vector<torch::Tensor> outputs;
    if (result.isTensor()) {
      outputs.push_back(result.toTensor());
    } else if (result.isTuple()) {
      for (const torch::jit::IValue& element : result.toTupleRef().elements()) {
        if (!element.isTensor()) {
          return absl::InternalError(absl::StrCat("instance '", name(),
                                                  "': forward() returned a tuple holding a ",
                                                  element.tagKind(), "; expected tensors"));
        }
        outputs.push_back(element.toTensor());
      }
    } else if (result.isTensorList()) {
      for (const torch::Tensor& tensor : result.toTensorVector()) outputs.push_back(tensor);
    } else {
      return absl::InternalError(absl::StrCat("instance '", name(), "': forward() returned a ",
                                              result.tagKind(), "; expected tensors"));
    }
    if (static_cast<int>(outputs.size()) != config.output_size()) {
      return absl::InternalError(absl::StrCat("instance '", name(), "': forward() returned ",
                                              outputs.size(), " tensors; the configuration lists ",
                                              config.output_size(), " outputs"));
    }
    for (InferenceRequest* request : batch) {
      request->outputs.clear();
      request->outputs.reserve(outputs.size());
    }
    for (int j = 0; j < config.output_size(); ++j) {
      const inference::ModelOutput& spec = config.output(j);
      torch::Tensor tensor = outputs[j].to(torch::kCPU).contiguous();
      if (tensor.scalar_type() != *ToScalarType(spec.data_type())) {
        return absl::InternalError(absl::StrCat(
            "instance '", name(), "': output '", spec.name(), "' is ",
            c10::toString(tensor.scalar_type()), " but the configuration says ",
            inference::DataType_Name(spec.data_type())));
      }
      if (batching && (tensor.dim() < 1 || tensor.size(0) != total_rows)) {
        return absl::InternalError(absl::StrCat(
            "instance '", name(), "': output '", spec.name(), "' has shape ",
            ShapeToString(tensor.sizes().vec()), "; expected ", total_rows,
            " rows along the batch dimension"));
      }
      const char* source = static_cast<const char*>(tensor.data_ptr());
      const std::vector<int64_t> dims =
          ClientDims(spec, batching ? tensor.sizes().slice(1) : tensor.sizes());
      const size_t row_bytes = batching ? tensor.nbytes() / total_rows : tensor.nbytes();
      for (InferenceRequest* request : batch) {
        OutputTensor output;
        output.name = spec.name();
        output.type = spec.data_type();
        if (batching) output.shape.push_back(request->batch_rows);
        output.shape.insert(output.shape.end(), dims.begin(), dims.end());
        const size_t bytes = batching ? row_bytes * request->batch_rows : row_bytes;
        output.data.assign(source, bytes);
        source += bytes;
        request->outputs.push_back(std::move(output));
      }
    }
    times.compute_output_end = options_.clock->Now();
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("instance '", name(), "' failed to run the model: ", e.what()));
  }
  for (InferenceRequest* request : batch) {
    PhaseTimes& stamped = request->times;
    stamped.compute_input_start = times.compute_input_start;
    stamped.compute_input_end = times.compute_input_end;
    stamped.compute_infer_start = times.compute_infer_start;
    stamped.compute_infer_end = times.compute_infer_end;
    stamped.compute_output_start = times.compute_output_start;
    stamped.compute_output_end = times.compute_output_end;
    request->executed_batch_rows = total_rows;
  }
  return absl::OkStatus();
}

}  // namespace speech
