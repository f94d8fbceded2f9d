#include "client/tensor_util.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/str_cat.h"
#include "proto/bytes_elements.h"
#include "proto/element_values.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

template <typename T>
void Store(std::string* bytes, size_t index, T value) {
  std::memcpy(bytes->data() + index * sizeof(T), &value, sizeof(T));
}

// Typed `contents` values packed as the datatype's raw little-endian elements.
template <typename Wire, typename Values>
std::string Pack(const Values& values) {
  std::string bytes(values.size() * sizeof(Wire), '\0');
  for (int i = 0; i < values.size(); ++i) Store<Wire>(&bytes, i, static_cast<Wire>(values[i]));
  return bytes;
}

// The raw bytes of the typed contents for `type`, with the number of elements they hold.
absl::StatusOr<std::pair<std::string, int>> PackContents(
    DataType type, const inference::InferTensorContents& contents) {
  switch (type) {
    case inference::TYPE_BOOL:
      return std::make_pair(Pack<uint8_t>(contents.bool_contents()), contents.bool_contents_size());
    case inference::TYPE_INT8:
      return std::make_pair(Pack<int8_t>(contents.int_contents()), contents.int_contents_size());
    case inference::TYPE_INT16:
      return std::make_pair(Pack<int16_t>(contents.int_contents()), contents.int_contents_size());
    case inference::TYPE_INT32:
      return std::make_pair(Pack<int32_t>(contents.int_contents()), contents.int_contents_size());
    case inference::TYPE_INT64:
      return std::make_pair(Pack<int64_t>(contents.int64_contents()),
                            contents.int64_contents_size());
    case inference::TYPE_UINT8:
      return std::make_pair(Pack<uint8_t>(contents.uint_contents()), contents.uint_contents_size());
    case inference::TYPE_UINT16:
      return std::make_pair(Pack<uint16_t>(contents.uint_contents()),
                            contents.uint_contents_size());
    case inference::TYPE_UINT32:
      return std::make_pair(Pack<uint32_t>(contents.uint_contents()),
                            contents.uint_contents_size());
    case inference::TYPE_UINT64:
      return std::make_pair(Pack<uint64_t>(contents.uint64_contents()),
                            contents.uint64_contents_size());
    case inference::TYPE_FP32:
      return std::make_pair(Pack<float>(contents.fp32_contents()), contents.fp32_contents_size());
    case inference::TYPE_FP64:
      return std::make_pair(Pack<double>(contents.fp64_contents()), contents.fp64_contents_size());
    case inference::TYPE_STRING:
      return std::make_pair(PackBytesElements(contents.bytes_contents()), contents.bytes_contents_size());
    default:
      return absl::InvalidArgumentError(absl::StrCat(
          DataTypeWireName(type), " has no typed contents field; it must travel as raw bytes"));
  }
}

std::string Describe(const HostTensor& tensor) {
  return absl::StrCat(tensor.name, " ", tensor.datatype, " ", ShapeToString(tensor.shape));
}

absl::Status CheckRange(DataType type, int64_t low, int64_t high) {
  int64_t min = 0;
  int64_t max = std::numeric_limits<int64_t>::max();
  switch (type) {
    case inference::TYPE_INT8:
      min = std::numeric_limits<int8_t>::min(), max = std::numeric_limits<int8_t>::max();
      break;
    case inference::TYPE_INT16:
      min = std::numeric_limits<int16_t>::min(), max = std::numeric_limits<int16_t>::max();
      break;
    case inference::TYPE_INT32:
      min = std::numeric_limits<int32_t>::min(), max = std::numeric_limits<int32_t>::max();
      break;
    case inference::TYPE_INT64:
      min = std::numeric_limits<int64_t>::min();
      break;
    case inference::TYPE_UINT8:
      max = std::numeric_limits<uint8_t>::max();
      break;
    case inference::TYPE_UINT16:
      max = std::numeric_limits<uint16_t>::max();
      break;
    case inference::TYPE_UINT32:
      max = std::numeric_limits<uint32_t>::max();
      break;
    default:  // UINT64: any non-negative int64
      break;
  }
  if (low >= high) {
    return absl::InvalidArgumentError(
        absl::StrCat("integer range [", low, ", ", high, ") is empty"));
  }
  if (low < min || high - 1 > max) {
    return absl::InvalidArgumentError(absl::StrCat("integer range [", low, ", ", high,
                                                   ") does not fit ", DataTypeWireName(type)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateTensor(const HostTensor& tensor) {
  const DataType type = DataTypeFromWireName(tensor.datatype);
  if (type == inference::TYPE_INVALID) {
    return absl::InvalidArgumentError(
        absl::StrCat(tensor.name, ": unknown datatype \"", tensor.datatype, "\""));
  }
  const int64_t count = ElementCount(tensor.shape);
  if (count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(tensor), ": shape has a negative dimension or is too large"));
  }
  if (type == inference::TYPE_STRING) {
    absl::StatusOr<std::vector<absl::string_view>> elements =
        SplitBytesElements(tensor.bytes, Describe(tensor));
    const int64_t strings = elements.ok() ? static_cast<int64_t>(elements->size()) : -1;
    if (strings != count) {
      return absl::InvalidArgumentError(absl::StrCat(
          Describe(tensor), ": expected ", count, " length-prefixed elements in ",
          tensor.bytes.size(), " bytes, ",
          strings < 0 ? "but the length prefixes are malformed" : absl::StrCat("got ", strings)));
    }
    return absl::OkStatus();
  }
  const size_t element_size = DataTypeByteSize(type);
  if (static_cast<uint64_t>(count) > std::numeric_limits<uint64_t>::max() / element_size ||
      count * element_size != tensor.bytes.size()) {
    return absl::InvalidArgumentError(absl::StrCat(Describe(tensor), ": expected ",
                                                   count * element_size, " bytes, got ",
                                                   tensor.bytes.size()));
  }
  return absl::OkStatus();
}

inference::ModelInferRequest MakeInferRequest(absl::string_view model, absl::string_view version,
                                              absl::Span<const HostTensor> inputs,
                                              absl::Span<const std::string> output_names) {
  inference::ModelInferRequest request;
  request.set_model_name(std::string(model));
  request.set_model_version(std::string(version));
  for (const HostTensor& tensor : inputs) {
    inference::ModelInferRequest::InferInputTensor* input = request.add_inputs();
    input->set_name(tensor.name);
    input->set_datatype(tensor.datatype);
    input->mutable_shape()->Add(tensor.shape.begin(), tensor.shape.end());
    request.add_raw_input_contents(tensor.bytes);
  }
  for (const std::string& name : output_names) request.add_outputs()->set_name(name);
  return request;
}

absl::StatusOr<std::vector<HostTensor>> OutputsFromResponse(
    const inference::ModelInferResponse& response) {
  const bool raw = response.raw_output_contents_size() > 0;
  if (raw && response.raw_output_contents_size() != response.outputs_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("response has ", response.outputs_size(), " outputs but ",
                     response.raw_output_contents_size(), " raw_output_contents"));
  }
  std::vector<HostTensor> tensors;
  tensors.reserve(response.outputs_size());
  for (int i = 0; i < response.outputs_size(); ++i) {
    const inference::ModelInferResponse::InferOutputTensor& output = response.outputs(i);
    HostTensor tensor;
    tensor.name = output.name();
    tensor.datatype = output.datatype();
    tensor.shape.assign(output.shape().begin(), output.shape().end());
    if (raw) {
      tensor.bytes = response.raw_output_contents(i);
    } else {
      const DataType type = DataTypeFromWireName(output.datatype());
      if (type == inference::TYPE_INVALID) {
        return absl::InvalidArgumentError(
            absl::StrCat(output.name(), ": unknown datatype \"", output.datatype(), "\""));
      }
      absl::StatusOr<std::pair<std::string, int>> packed = PackContents(type, output.contents());
      if (!packed.ok()) {
        // An empty FP16 tensor needs no payload at all.
        if (ElementCount(tensor.shape) != 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(Describe(tensor), ": ", packed.status().message()));
        }
      } else {
        if (packed->second != ElementCount(tensor.shape)) {
          return absl::InvalidArgumentError(
              absl::StrCat(Describe(tensor), ": contents hold ", packed->second,
                           " elements; the shape needs ", ElementCount(tensor.shape)));
        }
        tensor.bytes = std::move(packed->first);
      }
    }
    absl::Status valid = ValidateTensor(tensor);
    if (!valid.ok()) return valid;
    tensors.push_back(std::move(tensor));
  }
  return tensors;
}

absl::StatusOr<FillMode> ParseFillMode(absl::string_view text) {
  if (text == "zeros") return FillMode::kZeros;
  if (text == "random") return FillMode::kRandom;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown data mode \"", text, "\"; expected zeros or random"));
}

absl::StatusOr<HostTensor> GenerateInput(absl::string_view name, absl::string_view datatype,
                                         absl::Span<const int64_t> shape, FillMode mode,
                                         uint64_t seed, int64_t int_low, int64_t int_high) {
  HostTensor tensor;
  tensor.name = std::string(name);
  tensor.datatype = std::string(datatype);
  tensor.shape.assign(shape.begin(), shape.end());
  const DataType type = DataTypeFromWireName(datatype);
  if (type == inference::TYPE_INVALID || type == inference::TYPE_STRING) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(tensor), ": cannot generate data of this datatype"));
  }
  const int64_t count = ElementCount(shape);
  if (count < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(Describe(tensor), ": shape has a negative dimension or is too large"));
  }
  tensor.bytes.assign(count * DataTypeByteSize(type), '\0');
  if (mode == FillMode::kZeros) return tensor;

  const bool is_float = type == inference::TYPE_FP16 || type == inference::TYPE_BF16 ||
                        type == inference::TYPE_FP32 || type == inference::TYPE_FP64;
  if (!is_float && type != inference::TYPE_BOOL) {
    absl::Status range = CheckRange(type, int_low, int_high);
    if (!range.ok())
      return absl::InvalidArgumentError(absl::StrCat(Describe(tensor), ": ", range.message()));
  }
  // A fixed engine so that a seed means the same bytes on every run.
  std::mt19937_64 engine(seed);
  for (int64_t i = 0; i < count; ++i) {
    if (is_float) {
      const double value = absl::Uniform(absl::IntervalClosed, engine, -1.0, 1.0);
      switch (type) {
        case inference::TYPE_FP16:
          Store(&tensor.bytes, i, FloatToHalf(static_cast<float>(value)));
          break;
        case inference::TYPE_BF16:
          Store(&tensor.bytes, i, FloatToBf16(static_cast<float>(value)));
          break;
        case inference::TYPE_FP32:
          Store(&tensor.bytes, i, static_cast<float>(value));
          break;
        default:
          Store(&tensor.bytes, i, value);
      }
      continue;
    }
    if (type == inference::TYPE_BOOL) {
      Store(&tensor.bytes, i, static_cast<uint8_t>(absl::Bernoulli(engine, 0.5)));
      continue;
    }
    const int64_t value = absl::Uniform<int64_t>(engine, int_low, int_high);
    switch (type) {
      case inference::TYPE_INT8:
        Store(&tensor.bytes, i, static_cast<int8_t>(value));
        break;
      case inference::TYPE_INT16:
        Store(&tensor.bytes, i, static_cast<int16_t>(value));
        break;
      case inference::TYPE_INT32:
        Store(&tensor.bytes, i, static_cast<int32_t>(value));
        break;
      case inference::TYPE_INT64:
        Store(&tensor.bytes, i, value);
        break;
      case inference::TYPE_UINT8:
        Store(&tensor.bytes, i, static_cast<uint8_t>(value));
        break;
      case inference::TYPE_UINT16:
        Store(&tensor.bytes, i, static_cast<uint16_t>(value));
        break;
      case inference::TYPE_UINT32:
        Store(&tensor.bytes, i, static_cast<uint32_t>(value));
        break;
      default:
        Store(&tensor.bytes, i, static_cast<uint64_t>(value));
    }
  }
  return tensor;
}

absl::StatusOr<HostTensor> ReadInputFile(const std::string& path, absl::string_view name,
                                         absl::string_view datatype,
                                         absl::Span<const int64_t> shape) {
  HostTensor tensor;
  tensor.name = std::string(name);
  tensor.datatype = std::string(datatype);
  tensor.shape.assign(shape.begin(), shape.end());
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", path));
  char buffer[1 << 16];
  size_t read;
  while ((read = std::fread(buffer, 1, sizeof(buffer), file)) > 0)
    tensor.bytes.append(buffer, read);
  const bool failed = std::ferror(file) != 0;
  const int error = errno;
  std::fclose(file);
  if (failed) return absl::ErrnoToStatus(error, absl::StrCat("cannot read ", path));
  absl::Status valid = ValidateTensor(tensor);
  if (!valid.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("file ", path, " (", tensor.bytes.size(),
                                                   " bytes) does not fit ", valid.message()));
  }
  return tensor;
}

}  // namespace speech
