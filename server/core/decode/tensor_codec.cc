#include "server/core/decode/tensor_codec.h"

#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "batcher/tensor.h"
#include "proto/bytes_elements.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

using InputMessage = inference::ModelInferRequest::InferInputTensor;

template <typename Repeated>
std::string Names(const Repeated& tensors) {
  std::vector<std::string> names;
  for (const auto& tensor : tensors) names.push_back(tensor.name());
  return absl::StrCat("[", absl::StrJoin(names, ", "), "]");
}

// Copies typed values of a wider wire type (int32 on the wire for INT8/INT16/UINT8/BOOL) into
// the tensor's own element type.
template <typename Element, typename Wire>
std::string Narrow(const google::protobuf::RepeatedField<Wire>& values) {
  std::string bytes(values.size() * sizeof(Element), '\0');
  Element* out = reinterpret_cast<Element*>(bytes.data());
  for (int i = 0; i < values.size(); ++i) out[i] = static_cast<Element>(values[i]);
  return bytes;
}

template <typename Wire>
void Borrow(const google::protobuf::RepeatedField<Wire>& values, InputTensor* tensor) {
  tensor->data = reinterpret_cast<const char*>(values.data());
  tensor->byte_size = values.size() * sizeof(Wire);
}

// The InferTensorContents field that carries `type`'s values, for error messages.
const char* TypedContentsField(inference::DataType type) {
  switch (type) {
    case inference::TYPE_FP32:
      return "fp32_contents";
    case inference::TYPE_FP64:
      return "fp64_contents";
    case inference::TYPE_INT64:
      return "int64_contents";
    case inference::TYPE_INT32:
    case inference::TYPE_INT16:
    case inference::TYPE_INT8:
      return "int_contents";
    case inference::TYPE_UINT8:
      return "uint_contents";
    case inference::TYPE_BOOL:
      return "bool_contents";
    case inference::TYPE_STRING:
      return "bytes_contents";
    default:
      return "contents";
  }
}

// Points `tensor` at the typed contents of `input` (converting where the wire type is wider).
// Returns the number of elements the message carried for the tensor's type.
absl::StatusOr<int64_t> TakeTypedContents(const InputMessage& input, InferenceRequest* request,
                                          InputTensor* tensor) {
  const inference::InferTensorContents& contents = input.contents();
  auto own = [&](std::string bytes) {
    std::string& kept = request->owned_data.emplace_back(std::move(bytes));
    tensor->data = kept.data();
    tensor->byte_size = kept.size();
  };
  switch (tensor->type) {
    case inference::TYPE_FP32:
      Borrow(contents.fp32_contents(), tensor);
      return contents.fp32_contents_size();
    case inference::TYPE_FP64:
      Borrow(contents.fp64_contents(), tensor);
      return contents.fp64_contents_size();
    case inference::TYPE_INT32:
      Borrow(contents.int_contents(), tensor);
      return contents.int_contents_size();
    case inference::TYPE_INT64:
      Borrow(contents.int64_contents(), tensor);
      return contents.int64_contents_size();
    case inference::TYPE_INT16:
      own(Narrow<int16_t>(contents.int_contents()));
      return contents.int_contents_size();
    case inference::TYPE_INT8:
      own(Narrow<int8_t>(contents.int_contents()));
      return contents.int_contents_size();
    case inference::TYPE_UINT8:
      own(Narrow<uint8_t>(contents.uint_contents()));
      return contents.uint_contents_size();
    case inference::TYPE_BOOL:
      own(Narrow<bool>(contents.bool_contents()));
      return contents.bool_contents_size();
    case inference::TYPE_STRING:
      own(PackBytesElements(contents.bytes_contents()));
      return contents.bytes_contents_size();
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("input '", input.name(), "': datatype ", input.datatype(),
                       " has no typed contents field; send it in raw_input_contents"));
  }
}

bool HasTypedContents(const InputMessage& input) {
  const inference::InferTensorContents& c = input.contents();
  return c.bool_contents_size() + c.int_contents_size() + c.int64_contents_size() +
             c.uint_contents_size() + c.uint64_contents_size() + c.fp32_contents_size() +
             c.fp64_contents_size() + c.bytes_contents_size() >
         0;
}

// Checks the received shape against the configured dims (plus the batch dimension when the
// model batches) and returns the batch rows it carries (1 for models that do not batch).
absl::StatusOr<int64_t> CheckShape(const InputMessage& input, const inference::ModelInput& spec,
                                   const inference::ModelConfig& config) {
  const std::vector<int64_t> shape(input.shape().begin(), input.shape().end());
  const std::vector<int64_t> dims(spec.dims().begin(), spec.dims().end());
  for (int64_t dim : shape) {
    if (dim < 0) {
      return absl::InvalidArgumentError(absl::StrCat("input '", input.name(), "': shape ",
                                                     ShapeToString(shape),
                                                     " has a negative dimension ", dim));
    }
  }
  const bool batching = config.max_batch_size() > 0;
  const size_t offset = batching ? 1 : 0;
  bool matches = shape.size() == dims.size() + offset;
  for (size_t d = 0; matches && d < dims.size(); ++d) {
    matches = dims[d] == -1 || dims[d] == shape[d + offset];
  }
  if (!matches) {
    std::vector<int64_t> expected = dims;
    if (batching) expected.insert(expected.begin(), -1);
    return absl::InvalidArgumentError(
        absl::StrCat("input '", input.name(), "': shape ", ShapeToString(shape), " does not match ",
                     ShapeToString(expected), batching ? " (batch dimension first)" : ""));
  }
  const int64_t elements = ElementCount(shape);
  // BYTES elements have no fixed size: their count is what the shape must hold.
  const int64_t element_bytes = spec.data_type() == inference::TYPE_STRING
                                    ? 1
                                    : static_cast<int64_t>(DataTypeByteSize(spec.data_type()));
  if (element_bytes == 0) {
    return absl::InvalidArgumentError(absl::StrCat("input '", input.name(), "': datatype ",
                                                   DataTypeWireName(spec.data_type()),
                                                   " has no fixed element size"));
  }
  if (elements < 0 || elements > std::numeric_limits<int64_t>::max() / element_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("input '", input.name(), "': shape ",
                                                   ShapeToString(shape),
                                                   " holds more bytes than 64 bits can count"));
  }
  if (!batching) return 1;
  if (shape[0] < 1 || shape[0] > config.max_batch_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("input '", input.name(), "': batch size ", shape[0],
                     " is outside [1, max_batch_size = ", config.max_batch_size(), "]"));
  }
  return shape[0];
}

absl::Status DecodeTimeout(const inference::ModelInferRequest& message, InferenceRequest* request) {
  auto it = message.parameters().find("timeout");
  if (it == message.parameters().end()) return absl::OkStatus();
  const inference::InferParameter& value = it->second;
  constexpr char kExpected[] =
      "parameter 'timeout': expected a non-negative int64 number of microseconds; got ";
  int64_t micros = -1;
  if (value.has_int64_param()) {
    micros = value.int64_param();
    if (micros < 0) return absl::InvalidArgumentError(absl::StrCat(kExpected, micros));
  } else if (value.has_uint64_param()) {
    if (value.uint64_param() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return absl::InvalidArgumentError(
          absl::StrCat(kExpected, value.uint64_param(), " (beyond int64)"));
    }
    micros = static_cast<int64_t>(value.uint64_param());
  } else {
    const char* kind = value.has_string_param()   ? "a string"
                       : value.has_double_param() ? "a double"
                       : value.has_bool_param()   ? "a bool"
                                                  : "no value";
    return absl::InvalidArgumentError(absl::StrCat(kExpected, kind));
  }
  // As in Triton, 0 means "no override": the model's default queue policy applies.
  if (micros > 0) request->timeout_override = absl::Microseconds(micros);
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeInferRequest(const inference::ModelInferRequest& message,
                                const inference::ModelConfig& config, InferenceRequest* request,
                                absl::Span<const std::optional<absl::string_view>> external) {
  auto external_bytes = [&](int m) -> const std::optional<absl::string_view>* {
    return external.empty() ? nullptr : &external[m];
  };
  // raw_input_contents holds the inputs that are not external, in order.
  std::vector<int> raw_index(message.inputs_size(), -1);
  int in_message = 0;
  for (int m = 0; m < message.inputs_size(); ++m) {
    const std::optional<absl::string_view>* outside = external_bytes(m);
    if (outside == nullptr || !outside->has_value()) raw_index[m] = in_message++;
  }
  const bool raw = message.raw_input_contents_size() > 0;
  if (raw && message.raw_input_contents_size() != in_message) {
    return absl::InvalidArgumentError(
        absl::StrCat("raw_input_contents: has ", message.raw_input_contents_size(),
                     " entries; expected one per input not in shared memory, ", in_message));
  }
  std::vector<int> index_of_spec(config.input_size(), -1);
  for (int m = 0; m < message.inputs_size(); ++m) {
    const std::string& name = message.inputs(m).name();
    int found = -1;
    for (int s = 0; s < config.input_size(); ++s) {
      if (config.input(s).name() == name) found = s;
    }
    if (found < 0) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected input '", name, "'; model '",
                                                     config.name(), "' expects ",
                                                     Names(config.input())));
    }
    if (index_of_spec[found] >= 0) {
      return absl::InvalidArgumentError(absl::StrCat("input '", name, "' is given twice"));
    }
    index_of_spec[found] = m;
  }
  request->inputs.clear();
  request->inputs.reserve(config.input_size());
  int64_t batch_rows = -1;
  for (int s = 0; s < config.input_size(); ++s) {
    const inference::ModelInput& spec = config.input(s);
    if (index_of_spec[s] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("input '", spec.name(),
                                                     "' is missing; model '", config.name(),
                                                     "' expects ", Names(config.input())));
    }
    const InputMessage& input = message.inputs(index_of_spec[s]);
    InputTensor tensor;
    tensor.name = spec.name();
    tensor.type = DataTypeFromWireName(input.datatype());
    if (tensor.type != spec.data_type()) {
      return absl::InvalidArgumentError(absl::StrCat("input '", spec.name(), "': datatype '",
                                                     input.datatype(), "' does not match ",
                                                     DataTypeWireName(spec.data_type())));
    }
    absl::StatusOr<int64_t> rows = CheckShape(input, spec, config);
    if (!rows.ok()) return rows.status();
    if (batch_rows >= 0 && *rows != batch_rows) {
      return absl::InvalidArgumentError(absl::StrCat("input '", spec.name(), "': batch size ",
                                                     *rows, " differs from the other inputs' ",
                                                     batch_rows));
    }
    batch_rows = *rows;
    tensor.shape.assign(input.shape().begin(), input.shape().end());
    const int64_t elements = ElementCount(tensor.shape);
    const size_t expected_bytes = elements * DataTypeByteSize(tensor.type);
    const std::optional<absl::string_view>* outside = external_bytes(index_of_spec[s]);
    const bool in_shared_memory = outside != nullptr && outside->has_value();
    if (raw || in_shared_memory) {
      const char* source = in_shared_memory ? "its shared-memory region" : "raw_input_contents";
      if (HasTypedContents(input)) {
        return absl::InvalidArgumentError(absl::StrCat("input '", spec.name(), "': has both ",
                                                       source, " and typed contents; send one"));
      }
      const absl::string_view bytes =
          in_shared_memory
              ? **outside
              : absl::string_view(message.raw_input_contents(raw_index[index_of_spec[s]]));
      if (tensor.type == inference::TYPE_STRING) {
        absl::StatusOr<std::vector<absl::string_view>> strings =
            SplitBytesElements(bytes, absl::StrCat("input '", spec.name(), "'"));
        if (!strings.ok()) return strings.status();
        if (static_cast<int64_t>(strings->size()) != elements) {
          return absl::InvalidArgumentError(absl::StrCat(
              "input '", spec.name(), "': ", source, " holds ", strings->size(),
              " BYTES elements; shape ", ShapeToString(tensor.shape), " needs ", elements));
        }
      } else if (bytes.size() != expected_bytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", spec.name(), "': ", source, " has ", bytes.size(), " bytes; shape ",
            ShapeToString(tensor.shape), " of ", input.datatype(), " needs ", expected_bytes));
      }
      tensor.data = bytes.data();
      tensor.byte_size = bytes.size();
    } else {
      absl::StatusOr<int64_t> count = TakeTypedContents(input, request, &tensor);
      if (!count.ok()) return count.status();
      if (*count != elements) {
        // Named by field: values sent in another type's field are a common client mistake.
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", spec.name(), "': ", TypedContentsField(tensor.type), " hold ", *count,
            " values; shape ", ShapeToString(tensor.shape), " needs ", elements));
      }
    }
    request->inputs.push_back(std::move(tensor));
  }
  request->batch_rows = batch_rows;
  // Each configured output at most once (as Triton: a second entry would leave unclear whose
  // parameters, such as a shared-memory region, apply). Linear in the requested outputs.
  std::vector<bool> requested(config.output_size(), false);
  for (const auto& wanted : message.outputs()) {
    int found = -1;
    for (int s = 0; s < config.output_size(); ++s) {
      if (config.output(s).name() == wanted.name()) found = s;
    }
    if (found < 0) {
      return absl::InvalidArgumentError(absl::StrCat("unknown output '", wanted.name(),
                                                     "' requested; model '", config.name(),
                                                     "' has outputs ", Names(config.output())));
    }
    if (requested[found]) {
      return absl::InvalidArgumentError(
          absl::StrCat("output '", wanted.name(), "' is requested twice"));
    }
    requested[found] = true;
    // Refused as REST refuses it: sending the plain tensor instead would be misread as classes.
    if (wanted.parameters().count("classification") > 0) {
      return absl::UnimplementedError(absl::StrCat(
          "output '", wanted.name(), "': the classification extension is not supported"));
    }
  }
  request->id = message.id();
  return DecodeTimeout(message, request);
}

absl::Status EncodeInferResponse(
    const inference::ModelInferRequest& message, const std::string& version,
    InferenceRequest* request, inference::ModelInferResponse* response,
    const std::map<std::string, SharedMemoryRegistry::Lease>& shared_memory) {
  response->set_model_name(message.model_name());
  response->set_model_version(version);
  response->set_id(request->id);
  for (OutputTensor& output : request->outputs) {
    bool wanted = message.outputs().empty();
    for (const auto& requested : message.outputs()) wanted |= requested.name() == output.name;
    if (!wanted) continue;
    inference::ModelInferResponse::InferOutputTensor* tensor = response->add_outputs();
    tensor->set_name(output.name);
    tensor->set_datatype(std::string(DataTypeWireName(output.type)));
    for (int64_t dim : output.shape) tensor->add_shape(dim);
    auto region = shared_memory.find(output.name);
    if (region == shared_memory.end()) {
      response->add_raw_output_contents(std::move(output.data));
      continue;
    }
    const SharedMemoryRegistry::Lease& lease = region->second;
    if (output.data.size() > lease.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("output '", output.name, "': ", output.data.size(), " bytes (shape ",
                       ShapeToString(output.shape), ") do not fit the ", lease.size(),
                       " bytes of shared_memory_byte_size in region '", lease.region(), "'"));
    }
    std::memcpy(lease.data(), output.data.data(), output.data.size());
    (*tensor->mutable_parameters())["shared_memory_region"].set_string_param(lease.region());
    (*tensor->mutable_parameters())["shared_memory_byte_size"].set_int64_param(
        static_cast<int64_t>(output.data.size()));
    response->add_raw_output_contents();
  }
  return absl::OkStatus();
}

}  // namespace speech
