#include "models/torch/torch_instance.h"

#include <ATen/Parallel.h>
#include <torch/csrc/jit/python/update_graph_executor_opt.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "batcher/tensor.h"
#include "c10/core/StreamGuard.h"
#include "models/torch/execution/timed_runner.h"
#include "models/torch/tensors/ragged_batch.h"
#include "models/torch/tensors/recent_shapes.h"
#include "models/torch/tensors/string_tensors.h"
#include "proto/check.h"
#include "proto/tensor_types.h"

#ifdef SPEECH_LIBTORCH_CUDA
#include <c10/cuda/CUDAStream.h>
#endif

namespace speech {

// How many of an instance's last batches it remembers the exact shapes of. Buckets exist so that
// a stream of distinct lengths runs in few shapes, whose kernels oneDNN keeps; a shape that came
// back within this window recurs anyway (fixed-size audio chunks, a set of texts cycled), and its
// own size spares the bucket's padding: 4 % of the compute of the benchmark's long sentences at
// 2.2 % more samples. Its kernels are then kept beside the buckets': at a few tens of kernels per
// shape, 256 shapes stay well inside the primitive cache of 8,192 (--onednn-primitive-cache).
constexpr size_t kRecentShapes = 256;

struct TorchInstance::State {
  torch::jit::Module module;
  torch::Device device = torch::kCPU;
  std::optional<c10::Stream> stream;  // set on GPUs: the instance's own stream
  // The exact shapes (ExactShapeKey) of the instance's last batches: one seen among them runs at
  // its own sizes, not its buckets'.
  RecentShapes recent_shapes{kRecentShapes};
  // Set when the instance has an execution timeout: the thread that runs forward(). Last, so
  // that it is destroyed first and a forward() still running ends before the module goes.
  std::unique_ptr<TimedRunner> runner;
};

namespace {

// LibTorch 1.13 has no unsigned types wider than 8 bits; configuration validation rejects them.
std::optional<torch::ScalarType> ToScalarType(DataType type) {
  switch (type) {
    case inference::TYPE_BOOL:
      return torch::kBool;
    case inference::TYPE_UINT8:
      return torch::kByte;
    case inference::TYPE_INT8:
      return torch::kChar;
    case inference::TYPE_INT16:
      return torch::kShort;
    case inference::TYPE_INT32:
      return torch::kInt;
    case inference::TYPE_INT64:
      return torch::kLong;
    case inference::TYPE_FP16:
      return torch::kHalf;
    case inference::TYPE_BF16:
      return torch::kBFloat16;
    case inference::TYPE_FP32:
      return torch::kFloat;
    case inference::TYPE_FP64:
      return torch::kDouble;
    default:
      return std::nullopt;
  }
}

// The per-row dims a client sees for an output whose model shape (without the batch dimension)
// is `model_dims`: the model's own dims, or the configured dims where a `reshape` is declared.
std::vector<int64_t> ClientDims(const inference::ModelOutput& output, c10::IntArrayRef model_dims) {
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

// How a batch is laid out along its first dimension.
struct BatchShape {
  bool batching;       // the model has a batch dimension (max_batch_size > 0)
  int64_t total_rows;  // rows of every request together
};

// Compute input: one tensor per configured input holding the batch's rows in request order
// (padded to the longest item where the input has ragged_padding), then the batch inputs, on the
// instance's device (through pinned host memory for a GPU). Padded inputs are padded to their
// buckets unless `buckets` is false. A lone request on the CPU runs straight on the bytes it
// brought (unless its input's buckets pad it further, or `own_copies` asks for inputs that
// outlive the requests: forward() may go on past an execution timeout, after the requests are
// answered and their bytes freed). Adds the padded inputs' elements of data and of padding to
// `*real` and `*padded`.
absl::StatusOr<std::vector<torch::jit::IValue>> GatherInputs(
    absl::Span<InferenceRequest* const> batch, const BatchShape& shape,
    const inference::ModelConfig& config, const torch::Device& device, const std::string& name,
    bool buckets, bool own_copies, int64_t* real, int64_t* padded) {
  std::vector<torch::jit::IValue> inputs;
  inputs.reserve(config.input_size() + config.batch_input_size());
  for (int i = 0; i < config.input_size(); ++i) {
    const InputTensor& first = batch.front()->inputs[i];
    if (first.type == inference::TYPE_STRING) {  // List[str], wherever the model runs
      inputs.emplace_back(GatherStrings(batch, i));
      continue;
    }
    const auto options = torch::TensorOptions().dtype(*ToScalarType(first.type));
    const bool padded_input = config.input(i).has_ragged_padding();
    torch::Tensor tensor;
    if (batch.size() == 1 && !device.is_cuda() &&
        !(padded_input && buckets && PadsFurther(first.shape, config.input(i)))) {
      tensor = torch::from_blob(const_cast<char*>(first.data), first.shape, options);
      if (own_copies) tensor = tensor.clone();
      if (padded_input) {
        *real += tensor.numel();
        *padded += tensor.numel();
      }
    } else if (padded_input) {
      tensor = GatherPadded(batch, i, config.input(i), buckets,
                            options.pinned_memory(device.is_cuda()), real, padded);
    } else {
      std::vector<int64_t> dims = first.shape;
      if (shape.batching) dims[0] = shape.total_rows;
      for (const InferenceRequest* request : batch) {
        const std::vector<int64_t>& other = request->inputs[i].shape;
        if (!std::equal(other.begin() + 1, other.end(), first.shape.begin() + 1,
                        first.shape.end())) {
          return absl::InternalError(absl::StrCat("instance '", name, "': input '", first.name,
                                                  "' shapes ", ShapeToString(first.shape), " and ",
                                                  ShapeToString(other), " cannot share a batch"));
        }
      }
      tensor = torch::empty(dims, options.pinned_memory(device.is_cuda()));
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
  for (torch::Tensor& tensor : BatchInputs(batch, config)) {
    inputs.emplace_back(device.is_cuda() ? tensor.to(device) : std::move(tensor));
  }
  return inputs;
}

// Compute infer: forward() on the gathered inputs, its result as the configured outputs' values
// (tensors, or lists of strings for BYTES outputs), after waiting for the instance's stream where
// there is one, so that its time includes the GPU's work.
absl::StatusOr<std::vector<torch::jit::IValue>> RunGraph(torch::jit::Module& module,
                                                         std::vector<torch::jit::IValue> inputs,
                                                         const inference::ModelConfig& config,
                                                         const std::string& name,
                                                         const std::optional<c10::Stream>& stream) {
  torch::jit::IValue result = module.forward(std::move(inputs));
  SynchronizeIfAsync(stream);
  std::vector<torch::jit::IValue> outputs;
  if (result.isTuple()) {
    for (const torch::jit::IValue& element : result.toTupleRef().elements()) {
      outputs.push_back(element);
    }
  } else if (result.isTensorList()) {
    for (const torch::Tensor& tensor : result.toTensorVector()) outputs.push_back(tensor);
  } else {
    outputs.push_back(result);
  }
  if (static_cast<int>(outputs.size()) != config.output_size()) {
    return absl::InternalError(absl::StrCat("instance '", name, "': forward() returned ",
                                            outputs.size(), " values; the configuration lists ",
                                            config.output_size(), " outputs"));
  }
  for (int j = 0; j < config.output_size(); ++j) {
    const bool strings = config.output(j).data_type() == inference::TYPE_STRING;
    if (!strings && !outputs[j].isTensor()) {
      return absl::InternalError(absl::StrCat("instance '", name, "': forward() returned a ",
                                              outputs[j].tagKind(), " for output '",
                                              config.output(j).name(), "'; expected a tensor"));
    }
  }
  return outputs;
}

// Compute output: each output back on the host, checked against its configured data type and
// the batch's rows, and split into every request's own rows.
absl::Status ScatterOutputs(const std::vector<torch::jit::IValue>& outputs, const BatchShape& shape,
                            const inference::ModelConfig& config, bool reject_nan,
                            const std::string& name, absl::Span<InferenceRequest* const> batch) {
  for (InferenceRequest* request : batch) {
    request->outputs.clear();
    request->outputs.reserve(outputs.size());
  }
  // Tensors on the host (undefined where an output is a list of strings).
  std::vector<torch::Tensor> host(outputs.size());
  for (size_t j = 0; j < outputs.size(); ++j) {
    if (outputs[j].isTensor()) host[j] = outputs[j].toTensor().to(torch::kCPU).contiguous();
  }
  for (int j = 0; j < config.output_size(); ++j) {
    const inference::ModelOutput& spec = config.output(j);
    if (spec.data_type() == inference::TYPE_STRING) {
      absl::Status scattered =
          ScatterStrings(outputs[j], spec, shape.batching, shape.total_rows, batch);
      if (!scattered.ok()) {
        return absl::InternalError(absl::StrCat("instance '", name, "': ", scattered.message()));
      }
      continue;
    }
    const torch::Tensor& tensor = host[j];
    if (tensor.scalar_type() != *ToScalarType(spec.data_type())) {
      return absl::InternalError(absl::StrCat("instance '", name, "': output '", spec.name(),
                                              "' is ", c10::toString(tensor.scalar_type()),
                                              " but the configuration says ",
                                              inference::DataType_Name(spec.data_type())));
    }
    if (reject_nan && tensor.is_floating_point()) {
      if (const int64_t nans = torch::isnan(tensor).sum().item<int64_t>(); nans > 0) {
        return absl::InternalError(absl::StrCat("instance '", name, "': output '", spec.name(),
                                                "' holds ", nans, " NaN values of ", tensor.numel(),
                                                "; the configuration rejects NaN outputs"));
      }
    }
    if (shape.batching && (tensor.dim() < 1 || tensor.size(0) != shape.total_rows)) {
      return absl::InternalError(absl::StrCat("instance '", name, "': output '", spec.name(),
                                              "' has shape ", ShapeToString(tensor.sizes().vec()),
                                              "; expected ", shape.total_rows,
                                              " rows along the batch dimension"));
    }
    if (config.batch_output_size() > 0) {
      // Cut per request (its rows, and its own lengths where a batch_output says so).
      int64_t first_row = 0;
      for (InferenceRequest* request : batch) {
        absl::StatusOr<torch::Tensor> part = CutOutput(host, j, config, *request, first_row);
        if (!part.ok()) {
          return absl::InternalError(
              absl::StrCat("instance '", name, "': ", part.status().message()));
        }
        const torch::Tensor own = part->contiguous();
        OutputTensor output;
        output.name = spec.name();
        output.type = spec.data_type();
        output.shape.push_back(request->batch_rows);
        const std::vector<int64_t> dims = ClientDims(spec, own.sizes().slice(1));
        output.shape.insert(output.shape.end(), dims.begin(), dims.end());
        output.data.assign(static_cast<const char*>(own.data_ptr()), own.nbytes());
        request->outputs.push_back(std::move(output));
        first_row += request->batch_rows;
      }
      continue;
    }
    const char* source = static_cast<const char*>(tensor.data_ptr());
    const std::vector<int64_t> dims =
        ClientDims(spec, shape.batching ? tensor.sizes().slice(1) : tensor.sizes());
    const size_t total_rows = CheckedCast<size_t>(shape.total_rows);
    const size_t row_bytes = shape.batching ? tensor.nbytes() / total_rows : tensor.nbytes();
    for (InferenceRequest* request : batch) {
      OutputTensor output;
      output.name = spec.name();
      output.type = spec.data_type();
      if (shape.batching) output.shape.push_back(request->batch_rows);
      output.shape.insert(output.shape.end(), dims.begin(), dims.end());
      const size_t bytes =
          shape.batching ? row_bytes * CheckedCast<size_t>(request->batch_rows) : row_bytes;
      output.data.assign(source, bytes);
      source += bytes;
      request->outputs.push_back(std::move(output));
    }
  }
  return absl::OkStatus();
}

// The line of a LibTorch error that says what went wrong, without what says where: for an error
// raised inside TorchScript, the last "SomethingError: ..." line of the interpreter's traceback;
// otherwise the first line of the message without C++ frames. At most 300 characters.
std::string ErrorSummary(const std::exception& error) {
  const auto* c10_error = dynamic_cast<const c10::Error*>(&error);
  const std::string text =
      c10_error != nullptr ? c10_error->what_without_backtrace() : error.what();
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n', absl::SkipWhitespace());
  absl::string_view summary = lines.empty() ? absl::string_view("unknown error") : lines.front();
  for (auto line = lines.rbegin(); line != lines.rend(); ++line) {
    const absl::string_view stripped = absl::StripAsciiWhitespace(*line);
    const size_t colon = stripped.find(": ");
    if (colon != absl::string_view::npos && absl::EndsWith(stripped.substr(0, colon), "Error") &&
        stripped.substr(0, colon).find(' ') == absl::string_view::npos) {
      summary = stripped;
      break;
    }
  }
  summary = absl::StripAsciiWhitespace(summary);
  if (summary.size() > 300) return absl::StrCat(summary.substr(0, 297), "...");
  return std::string(summary);
}

// The settings LibTorch keeps for the whole process: the graph executor's modes (the last
// model that sets them wins, as in Triton's PyTorch backend) and the inter-op pool's size, which
// LibTorch lets a process set once, before its first inter-op task.
void ApplyProcessWideSettings(const ExecutionSettings& settings, const std::string& name) {
  if (settings.jit_profiling.has_value()) torch::jit::getProfilingMode() = *settings.jit_profiling;
  if (settings.jit_executor.has_value()) torch::jit::getExecutorMode() = *settings.jit_executor;
  if (settings.inter_op_threads == 0) return;
  static std::mutex mutex;
  static int inter_op_threads = 0;  // what this process set, 0 before
  std::lock_guard<std::mutex> lock(mutex);
  if (inter_op_threads == 0) {
    try {
      at::set_num_interop_threads(settings.inter_op_threads);
      inter_op_threads = settings.inter_op_threads;
      return;
    } catch (const std::exception&) {  // the pool already runs
      inter_op_threads = at::get_num_interop_threads();
    }
  }
  if (inter_op_threads != settings.inter_op_threads) {
    std::cerr << "instance '" << name << "': INTER_OP_THREAD_COUNT " << settings.inter_op_threads
              << " ignored: LibTorch's inter-op pool has " << inter_op_threads
              << " threads already, and its size is set once per process" << std::endl;
  }
}

// The thread-local settings, for one run on the calling thread: OpenMP's intra-op threads (per
// thread under LibTorch's OpenMP backend, so each instance's thread keeps its own count), the
// graph executor's optimisation switch, inference mode or no-grad, and on a GPU the instance's
// stream.
class RunSettingsScope {
 public:
  RunSettingsScope(const ExecutionSettings& settings, const std::optional<c10::Stream>& stream)
      : optimize_(settings.optimized_execution) {
    if (stream.has_value()) stream_guard_.emplace(*stream);
    if (at::get_num_threads() != settings.intra_op_threads) {
      at::set_num_threads(settings.intra_op_threads);
    }
    if (settings.inference_mode) {
      inference_mode_.emplace();
    } else {
      no_grad_.emplace();
    }
  }

 private:
  std::optional<c10::StreamGuard> stream_guard_;
  torch::jit::GraphOptimizerEnabledGuard optimize_;
  std::optional<c10::InferenceMode> inference_mode_;
  std::optional<torch::NoGradGuard> no_grad_;
};

// A LibTorch exception while running the model: the whole error (TorchScript's traceback, C++
// frames, file paths) goes to the server's log, the client gets its last line, the error itself.
absl::Status RunFailure(const std::string& name, const std::exception& e) {
  std::cerr << "instance '" << name << "' failed to run the model: " << e.what() << std::endl;
  return absl::InternalError(
      absl::StrCat("instance '", name, "' failed to run the model: ", ErrorSummary(e)));
}

// Compute infer under the execution timeout: forward() on the instance's runner thread.
// DEADLINE_EXCEEDED when it runs past the timeout (it goes on, and its result is dropped),
// UNAVAILABLE when an earlier one that did is still running after another timeout. The task
// owns its inputs and its result; the module, the stream and the options outlive the runner
// (State destroys it first, before the instance's options go). It sets the instance's settings
// again on the runner's thread, as they are thread-local.
absl::StatusOr<std::vector<torch::jit::IValue>> RunWithTimeout(
    TimedRunner& runner, torch::jit::Module& module, const std::optional<c10::Stream>& stream,
    const TorchInstance::Options& options, std::vector<torch::jit::IValue> inputs, int64_t rows) {
  const std::string& name = options.instance_name;
  auto result = std::make_shared<absl::StatusOr<std::vector<torch::jit::IValue>>>(
      absl::UnknownError("not run"));
  const absl::Duration timeout = options.execution.execution_timeout;
  const TimedRunner::Outcome outcome = runner.Run(
      [&module, &stream, &options, result, inputs = std::move(inputs)]() mutable {
        try {
          RunSettingsScope run_settings(options.execution, stream);
          *result =
              RunGraph(module, std::move(inputs), options.config, options.instance_name, stream);
        } catch (const std::exception& e) {
          *result = RunFailure(options.instance_name, e);
        }
      },
      timeout);
  const int64_t milliseconds = absl::ToInt64Milliseconds(timeout);
  switch (outcome) {
    case TimedRunner::Outcome::kDone:
      return std::move(*result);
    case TimedRunner::Outcome::kTimedOut:
      std::cerr << "instance '" << name << "': forward() on a batch of " << rows
                << " rows ran past the execution timeout of " << milliseconds
                << " ms; the batch fails, and the instance runs nothing else until it ends"
                << std::endl;
      return absl::DeadlineExceededError(
          absl::StrCat("instance '", name, "' did not finish the batch within its execution ",
                       "timeout of ", milliseconds, " ms"));
    case TimedRunner::Outcome::kBusy:
      break;
  }
  return absl::UnavailableError(absl::StrCat(
      "instance '", name, "' is still running a batch that passed its execution timeout of ",
      milliseconds, " ms"));
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
    return absl::InvalidArgumentError(absl::StrCat(
        "instance '", options.instance_name, "': bad device '", options.device, "': ", e.what()));
  }
  if (state->device.is_cuda()) {
    const int64_t index = state->device.has_index() ? state->device.index() : 0;
    if (!torch::cuda::is_available() ||
        index >= static_cast<int64_t>(torch::cuda::device_count())) {
      return absl::FailedPreconditionError(
          absl::StrCat("instance '", options.instance_name, "' asks for device ", options.device,
                       " but this host has ", torch::cuda::device_count(),
                       " CUDA devices visible to LibTorch (CUDA build: ",
                       torch::cuda::is_available() ? "yes" : "no or no driver", ")"));
    }
#ifdef SPEECH_LIBTORCH_CUDA
    state->stream = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
#endif
  }
  if (options.execution.execution_timeout > absl::ZeroDuration()) {
    state->runner = std::make_unique<TimedRunner>();
  }
  auto unsupported = [&](const char* kind, const std::string& name, DataType type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "instance '", options.instance_name, "' (", path, "): ", kind, " '", name, "': data_type ",
        inference::DataType_Name(type), " is not supported by LibTorch"));
  };
  // BYTES travel as List[str]; every other type needs a LibTorch scalar type.
  auto supported = [](DataType type) {
    return type == inference::TYPE_STRING || ToScalarType(type).has_value();
  };
  for (const inference::ModelInput& input : options.config.input()) {
    if (!supported(input.data_type())) return unsupported("input", input.name(), input.data_type());
  }
  for (const inference::ModelOutput& output : options.config.output()) {
    if (!supported(output.data_type())) {
      return unsupported("output", output.name(), output.data_type());
    }
  }
  try {
    ApplyProcessWideSettings(options.execution, options.instance_name);
    state->module = torch::jit::load(path, state->device);
    state->module.eval();
    const size_t arguments =
        state->module.get_method("forward").function().getSchema().arguments().size() - 1;
    const size_t configured =
        static_cast<size_t>(options.config.input_size() + options.config.batch_input_size());
    if (arguments != configured) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model file '", path, "': forward() takes ", arguments,
          " inputs but the configuration lists ", configured,
          options.config.batch_input_size() > 0 ? " (inputs, then batch inputs)" : ""));
    }
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("model file '", path, "' could not be loaded by LibTorch: ", e.what()));
  }
  std::cerr << "instance '" << options.instance_name << "' on " << options.device << ": "
            << DescribeExecutionSettings(options.execution) << std::endl;
  return std::unique_ptr<TorchInstance>(new TorchInstance(std::move(options), std::move(state)));
}

TorchInstance::TorchInstance(Options options, std::unique_ptr<State> state)
    : options_(std::move(options)), state_(std::move(state)) {}

TorchInstance::~TorchInstance() = default;

absl::Status TorchInstance::Execute(absl::Span<InferenceRequest* const> batch) {
  const bool batching = options_.config.max_batch_size() > 0;
  // The batcher guarantees both: only a model with a batch dimension gets several requests at
  // once, and every request of such a model brings at least one row.
  SPEECH_CHECK(!batch.empty() && (batching || batch.size() == 1), "instance '", name(),
               "' got a batch of ", batch.size(), " requests");
  int64_t total_rows = 0;
  for (const InferenceRequest* request : batch) {
    SPEECH_CHECK(!batching || request->batch_rows >= 1, "instance '", name(), "' got a request of ",
                 request->batch_rows, " rows");
    total_rows += request->batch_rows;
  }
  const BatchShape shape{batching, total_rows};
  PhaseTimes times;
  int64_t real_elements = 0;
  int64_t padded_elements = 0;
  try {
    RunSettingsScope run_settings(options_.execution, state_->stream);
    times.compute_input_start = options_.clock->Now();
    const uint64_t exact_shape = ExactShapeKey(batch, options_.config);
    const bool buckets = exact_shape == 0 || !state_->recent_shapes.Note(exact_shape);
    absl::StatusOr<std::vector<torch::jit::IValue>> inputs =
        GatherInputs(batch, shape, options_.config, state_->device, name(), buckets,
                     /*own_copies=*/state_->runner != nullptr, &real_elements, &padded_elements);
    if (!inputs.ok()) return inputs.status();
    SynchronizeIfAsync(state_->stream);
    times.compute_input_end = options_.clock->Now();

    times.compute_infer_start = times.compute_input_end;
    absl::StatusOr<std::vector<torch::jit::IValue>> outputs =
        state_->runner != nullptr
            ? RunWithTimeout(*state_->runner, state_->module, state_->stream, options_,
                             *std::move(inputs), total_rows)
            : RunGraph(state_->module, *std::move(inputs), options_.config, name(), state_->stream);
    if (!outputs.ok()) return outputs.status();
    times.compute_infer_end = options_.clock->Now();

    times.compute_output_start = times.compute_infer_end;
    if (absl::Status scattered = ScatterOutputs(
            *outputs, shape, options_.config, options_.execution.reject_nan_outputs, name(), batch);
        !scattered.ok()) {
      return scattered;
    }
    times.compute_output_end = options_.clock->Now();
  } catch (const std::exception& e) {
    return RunFailure(name(), e);
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
    request->executed_real_elements = real_elements;
    request->executed_padded_elements = padded_elements;
  }
  return absl::OkStatus();
}

}  // namespace speech
