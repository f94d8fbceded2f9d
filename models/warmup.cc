#include "models/warmup.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <random>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "batcher/request.h"
#include "proto/bytes_elements.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

constexpr int64_t kDefaultWarmupLength = 128;

// Fills `bytes` (`count` elements of `type`) with ones, the default warm-up value: a valid
// symbol id for text models and a non-silent sample for audio ones.
void FillOnes(DataType type, int64_t count, std::string* bytes) {
  if (type == inference::TYPE_STRING) {  // "1" in every element: text, and a number too
    bytes->clear();
    for (int64_t i = 0; i < count; ++i) AppendBytesElement("1", bytes);
    return;
  }
  const size_t size = DataTypeByteSize(type);
  bytes->assign(count * size, '\0');
  for (int64_t i = 0; i < count; ++i) {
    char* element = bytes->data() + i * size;
    switch (type) {
      case inference::TYPE_FP32:
        *reinterpret_cast<float*>(element) = 1.0f;
        break;
      case inference::TYPE_FP64:
        *reinterpret_cast<double*>(element) = 1.0;
        break;
      case inference::TYPE_FP16:
        element[1] = 0x3c;
        break;  // 1.0 in IEEE half
      case inference::TYPE_BF16:
        element[1] = 0x3f;
        element[0] = static_cast<char>(0x80);
        break;
      default:
        element[0] = 1;
        break;  // little-endian integers
    }
  }
}

void FillRandom(DataType type, int64_t count, std::string* bytes) {
  FillOnes(type, count, bytes);
  if (type != inference::TYPE_FP32) return;  // other types keep ones: always in range
  std::mt19937 generator(42);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  float* values = reinterpret_cast<float*>(bytes->data());
  for (int64_t i = 0; i < count; ++i) values[i] = uniform(generator);
}

struct WarmupInput {
  DataType type;
  std::vector<int64_t> dims;  // without the batch dimension
  enum { kOnes, kZeros, kRandom, kFile } fill = kOnes;
  std::string file;
};

struct WarmupSample {
  std::string name;
  int64_t batch_size;
  int count;
  std::vector<WarmupInput> inputs;  // in configuration order
};

absl::StatusOr<std::vector<WarmupSample>> PlanWarmup(const inference::ModelConfig& config) {
  std::vector<WarmupSample> samples;
  if (config.model_warmup_size() == 0) {
    WarmupSample sample{"default", std::max<int64_t>(1, config.max_batch_size()), 1, {}};
    for (const inference::ModelInput& input : config.input()) {
      WarmupInput warmup{input.data_type(), {input.dims().begin(), input.dims().end()}};
      // 128, or what the input's constraints allow.
      int64_t length = std::max(kDefaultWarmupLength, input.constraints().min_length());
      if (input.constraints().max_length() > 0) {
        length = std::min(length, input.constraints().max_length());
      }
      for (int64_t& dim : warmup.dims) {
        if (dim < 0) dim = length;
      }
      sample.inputs.push_back(std::move(warmup));
    }
    samples.push_back(std::move(sample));
    return samples;
  }
  for (const inference::ModelWarmup& spec : config.model_warmup()) {
    WarmupSample sample{spec.name(),
                        std::max<int64_t>(1, spec.batch_size()),
                        std::max<int>(1, static_cast<int>(spec.count())),
                        {}};
    if (config.max_batch_size() == 0) sample.batch_size = 1;
    for (const inference::ModelInput& input : config.input()) {
      auto it = spec.inputs().find(input.name());
      if (it == spec.inputs().end()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "model_warmup '", spec.name(), "' gives no data for input '", input.name(), "'"));
      }
      const inference::ModelWarmup::Input& given = it->second;
      WarmupInput warmup{given.data_type(), {given.dims().begin(), given.dims().end()}};
      if (given.data_type() != input.data_type()) {
        return absl::InvalidArgumentError(
            absl::StrCat("model_warmup '", spec.name(), "' input '", input.name(), "': data_type ",
                         inference::DataType_Name(given.data_type()), " differs from the input's ",
                         inference::DataType_Name(input.data_type())));
      }
      if (given.has_zero_data()) warmup.fill = WarmupInput::kZeros;
      if (given.has_random_data()) warmup.fill = WarmupInput::kRandom;
      if (given.has_input_data_file()) {
        warmup.fill = WarmupInput::kFile;
        warmup.file = given.input_data_file();
      }
      sample.inputs.push_back(std::move(warmup));
    }
    samples.push_back(std::move(sample));
  }
  return samples;
}

absl::Status FillWarmupBytes(const WarmupInput& input, int64_t count, const std::string& model_dir,
                             std::string* bytes) {
  switch (input.fill) {
    case WarmupInput::kOnes:
      FillOnes(input.type, count, bytes);
      return absl::OkStatus();
    case WarmupInput::kZeros:  // for BYTES: empty elements, each a zero length
      bytes->assign(
          count * (input.type == inference::TYPE_STRING ? 4 : DataTypeByteSize(input.type)), '\0');
      return absl::OkStatus();
    case WarmupInput::kRandom:
      FillRandom(input.type, count, bytes);
      return absl::OkStatus();
    case WarmupInput::kFile:
      break;
  }
  const std::string path = absl::StrCat(model_dir, "/warmup/", input.file);
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("warm-up file '", path, "' not found"));
  bytes->assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
  if (input.type == inference::TYPE_STRING) {  // Triton's raw layout, one element per value
    absl::StatusOr<std::vector<absl::string_view>> elements =
        SplitBytesElements(*bytes, absl::StrCat("warm-up file '", path, "'"));
    if (!elements.ok()) return elements.status();
    if (static_cast<int64_t>(elements->size()) != count) {
      return absl::InvalidArgumentError(absl::StrCat("warm-up file '", path, "' holds ",
                                                     elements->size(), " BYTES elements; expected ",
                                                     count));
    }
    return absl::OkStatus();
  }
  const size_t expected = count * DataTypeByteSize(input.type);
  if (bytes->size() != expected) {
    return absl::InvalidArgumentError(absl::StrCat("warm-up file '", path, "' has ", bytes->size(),
                                                   " bytes; expected ", expected));
  }
  return absl::OkStatus();
}

// Each output's data type and dims must agree with the configuration: same rank, same fixed
// dims (-1 matches anything).
absl::Status CheckOutputs(const InferenceRequest& request, const inference::ModelConfig& config) {
  const bool batching = config.max_batch_size() > 0;
  if (request.outputs.size() != static_cast<size_t>(config.output_size())) {
    return absl::InvalidArgumentError(absl::StrCat("the model returned ", request.outputs.size(),
                                                   " outputs; the configuration lists ",
                                                   config.output_size()));
  }
  for (int j = 0; j < config.output_size(); ++j) {
    const inference::ModelOutput& spec = config.output(j);
    const OutputTensor& output = request.outputs[j];
    if (output.type != spec.data_type()) {
      return absl::InvalidArgumentError(
          absl::StrCat("output '", spec.name(), "': the configuration's data_type ",
                       inference::DataType_Name(spec.data_type()), " disagrees with the model's ",
                       inference::DataType_Name(output.type)));
    }
    if (batching && output.shape.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("output '", spec.name(),
                       "': the model returned a scalar; expected a batch "
                       "dimension first"));
    }
    std::vector<int64_t> dims(output.shape.begin() + (batching ? 1 : 0), output.shape.end());
    bool agree = dims.size() == static_cast<size_t>(spec.dims_size());
    for (size_t d = 0; agree && d < dims.size(); ++d) {
      agree = spec.dims(d) < 0 || spec.dims(d) == dims[d];
    }
    if (!agree) {
      return absl::InvalidArgumentError(
          absl::StrCat("output '", spec.name(), "': the configuration's dims ",
                       ShapeToString(std::vector<int64_t>(spec.dims().begin(), spec.dims().end())),
                       " disagree with the model's output ", ShapeToString(dims),
                       batching ? " (batch dimension excluded)" : ""));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WarmUp(BatchExecutor& instance, const inference::ModelConfig& config,
                    const std::string& model_dir) {
  absl::StatusOr<std::vector<WarmupSample>> samples = PlanWarmup(config);
  if (!samples.ok()) return samples.status();
  const bool batching = config.max_batch_size() > 0;
  for (const WarmupSample& sample : *samples) {
    InferenceRequest request;
    request.batch_rows = sample.batch_size;
    for (int i = 0; i < config.input_size(); ++i) {
      const WarmupInput& input = sample.inputs[i];
      InputTensor tensor;
      tensor.name = config.input(i).name();
      tensor.type = input.type;
      if (batching) tensor.shape.push_back(sample.batch_size);
      tensor.shape.insert(tensor.shape.end(), input.dims.begin(), input.dims.end());
      const int64_t count = ElementCount(tensor.shape);
      if (count < 0) {
        return absl::InvalidArgumentError(absl::StrCat("model_warmup '", sample.name, "' input '",
                                                       tensor.name, "' has dims ",
                                                       ShapeToString(input.dims)));
      }
      std::string& bytes = request.owned_data.emplace_back();
      absl::Status filled = FillWarmupBytes(input, count, model_dir, &bytes);
      if (!filled.ok()) return filled;
      tensor.data = bytes.data();
      tensor.byte_size = bytes.size();
      request.inputs.push_back(std::move(tensor));
    }
    InferenceRequest* const batch[] = {&request};
    for (int run = 0; run < sample.count; ++run) {
      absl::Status status = instance.Execute(batch);
      if (!status.ok()) {
        return absl::Status(status.code(),
                            absl::StrCat("warm-up '", sample.name, "' failed: ", status.message()));
      }
      absl::Status agree = CheckOutputs(request, config);
      if (!agree.ok()) return agree;
    }
  }
  return absl::OkStatus();
}

}  // namespace speech
