#include "tests/fuzz/fuzz_models.h"

#include <algorithm>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "batcher/request.h"
#include "google/protobuf/text_format.h"
#include "proto/bytes_elements.h"
#include "proto/check.h"
#include "proto/tensor_types.h"
#include "server/core/decode/input_constraints.h"
#include "server/core/decode/request_limits.h"
#include "server/core/decode/tensor_codec.h"
#include "server/repository/config/model_config.h"

namespace speech {
namespace {

// Shaped after the default repository's models (models/export), cut to what decoding reads.
constexpr const char* kConfigs[] = {
    // FastPitch: symbol ids in a ragged batch, with a value range and length bounds.
    R"pb(
      name: "fastpitch"
      platform: "pytorch_libtorch"
      max_batch_size: 8
      input {
        name: "INPUT__0"
        data_type: TYPE_INT64
        dims: [ -1 ]
        ragged_padding { pad_value: 0 }
        constraints { min_value: 0 max_value: 147 min_length: 1 max_length: 512 }
      }
      output {
        name: "OUTPUT__0"
        data_type: TYPE_FP32
        dims: [ 80 ]
      }
      output {
        name: "OUTPUT__1"
        data_type: TYPE_INT64
        dims: [ 1 ]
      }
    )pb",
    // The text front-end: one UTF-8 string per row, with element size bounds.
    R"pb(
      name: "tts_frontend"
      platform: "pytorch_libtorch"
      max_batch_size: 8
      input {
        name: "TEXT"
        data_type: TYPE_STRING
        dims: [ 1 ]
        constraints { min_element_bytes: 1 max_element_bytes: 1024 utf8: true }
      }
      output {
        name: "SYMBOLS"
        data_type: TYPE_INT64
        dims: [ -1 ]
      }
    )pb",
    // Speech recognition: padded audio (finite samples) and the client's own lengths of it.
    R"pb(
      name: "wav2vec2"
      platform: "pytorch_libtorch"
      max_batch_size: 4
      input {
        name: "AUDIO"
        data_type: TYPE_FP32
        dims: [ -1 ]
        ragged_padding { pad_value: 0 }
        constraints { finite: true min_length: 1 max_length: 480000 }
      }
      input {
        name: "AUDIO_LENGTHS"
        data_type: TYPE_INT64
        dims: [ 1 ]
        constraints { lengths_of: "AUDIO" }
      }
      output {
        name: "LOGITS"
        data_type: TYPE_FP32
        dims: [ 32 ]
      }
    )pb",
    // No batching, and every other datatype the codec takes, typed or raw.
    R"pb(
      name: "every_type"
      platform: "pytorch_libtorch"
      max_batch_size: 0
      input {
        name: "I8"
        data_type: TYPE_INT8
        dims: [ 2, 3 ]
        constraints { min_value: -100 max_value: 100 }
      }
      input {
        name: "I16"
        data_type: TYPE_INT16
        dims: [ -1 ]
      }
      input {
        name: "I32"
        data_type: TYPE_INT32
        dims: [ 1 ]
      }
      input {
        name: "U8"
        data_type: TYPE_UINT8
        dims: [ -1, 2 ]
      }
      input {
        name: "BF16"
        data_type: TYPE_BF16
        dims: [ 1 ]
      }
      input {
        name: "B"
        data_type: TYPE_BOOL
        dims: [ -1 ]
      }
      input {
        name: "F16"
        data_type: TYPE_FP16
        dims: [ -1 ]
        constraints { finite: true }
      }
      input {
        name: "F64"
        data_type: TYPE_FP64
        dims: [ 2 ]
        constraints { finite: true min_value: -1 max_value: 1 }
      }
      input {
        name: "S"
        data_type: TYPE_STRING
        dims: [ -1 ]
        constraints { max_length: 4 }
      }
      output {
        name: "OUT"
        data_type: TYPE_FP32
        dims: [ -1 ]
      }
    )pb",
};

std::vector<inference::ModelConfig> ParseConfigs() {
  std::vector<inference::ModelConfig> configs;
  for (const char* text : kConfigs) {
    inference::ModelConfig& config = configs.emplace_back();
    SPEECH_CHECK(google::protobuf::TextFormat::ParseFromString(text, &config),
                 "a fuzz model configuration does not parse: ", text);
    const std::string name = config.name();
    const absl::Status valid = ValidateModelConfig(name, &config);
    SPEECH_CHECK(valid.ok(), "fuzz model '", name, "' is not valid: ", valid.message());
  }
  return configs;
}

// Where Touch's sums go, so that the reads are not optimised away.
volatile unsigned touched_sum = 0;

// Reads every byte, so that AddressSanitizer sees a tensor that points past its data.
unsigned Touch(const InputTensor& tensor) {
  unsigned sum = 0;
  for (size_t i = 0; i < tensor.byte_size; ++i) sum += static_cast<unsigned char>(tensor.data[i]);
  return sum;
}

// The codec's promises about a request it decoded without error (tensor_codec.h).
void CheckDecoded(const inference::ModelConfig& config, const InferenceRequest& request) {
  const bool batching = config.max_batch_size() > 0;
  SPEECH_CHECK(static_cast<int>(request.inputs.size()) == config.input_size(), "model '",
               config.name(), "': decoded ", request.inputs.size(), " inputs");
  if (batching) {
    SPEECH_CHECK(request.batch_rows >= 1 && request.batch_rows <= config.max_batch_size(),
                 "model '", config.name(), "': batch of ", request.batch_rows);
  } else {
    SPEECH_CHECK(request.batch_rows == 1, "model '", config.name(), "': batch of ",
                 request.batch_rows, " without batching");
  }
  unsigned sum = 0;
  for (int i = 0; i < config.input_size(); ++i) {
    const inference::ModelInput& spec = config.input(i);
    const InputTensor& tensor = request.inputs[i];
    const std::string where = absl::StrCat("model '", config.name(), "' input '", spec.name(), "'");
    SPEECH_CHECK(tensor.name == spec.name() && tensor.type == spec.data_type(), where,
                 ": decoded as '", tensor.name, "' of ", DataTypeWireName(tensor.type));
    const size_t offset = batching ? 1 : 0;
    SPEECH_CHECK(tensor.shape.size() == spec.dims_size() + offset, where, ": shape ",
                 ShapeToString(tensor.shape));
    if (batching) SPEECH_CHECK(tensor.shape[0] == request.batch_rows, where, ": batch dimension");
    for (int d = 0; d < spec.dims_size(); ++d) {
      SPEECH_CHECK(spec.dims(d) == -1 || spec.dims(d) == tensor.shape[d + offset], where,
                   ": shape ", ShapeToString(tensor.shape));
    }
    const int64_t elements = ElementCount(tensor.shape);
    SPEECH_CHECK(elements >= 0, where, ": shape ", ShapeToString(tensor.shape));
    if (tensor.type == inference::TYPE_STRING) {
      absl::StatusOr<std::vector<absl::string_view>> strings =
          SplitBytesElements(absl::string_view(tensor.data, tensor.byte_size), where);
      SPEECH_CHECK(strings.ok() && static_cast<int64_t>(strings->size()) == elements, where,
                   ": BYTES data does not hold ", elements, " elements");
    } else {
      SPEECH_CHECK(tensor.byte_size == elements * DataTypeByteSize(tensor.type), where, ": ",
                   tensor.byte_size, " bytes for shape ", ShapeToString(tensor.shape));
    }
    sum += Touch(tensor);
  }
  touched_sum = sum;
}

}  // namespace

const std::vector<inference::ModelConfig>& FuzzModelConfigs() {
  static const std::vector<inference::ModelConfig>* const configs =
      new std::vector<inference::ModelConfig>(ParseConfigs());
  return *configs;
}

bool TakeFuzzRegions(inference::ModelInferRequest* message, FuzzRegions* regions) {
  std::vector<int> in_shared_memory;
  for (int i = 0; i < message->inputs_size(); ++i) {
    if (message->inputs(i).parameters().count("shared_memory_region") > 0) {
      in_shared_memory.push_back(i);
    }
  }
  if (in_shared_memory.empty()) return true;
  const int first = message->raw_input_contents_size() - static_cast<int>(in_shared_memory.size());
  if (first < 0) return false;
  regions->external.resize(message->inputs_size());
  for (size_t k = 0; k < in_shared_memory.size(); ++k) {
    const std::string& bytes = message->raw_input_contents(first + static_cast<int>(k));
    regions->blocks.push_back(std::make_unique<char[]>(bytes.size()));
    std::copy(bytes.begin(), bytes.end(), regions->blocks.back().get());
    regions->external[in_shared_memory[k]] =
        absl::string_view(regions->blocks.back().get(), bytes.size());
  }
  while (message->raw_input_contents_size() > first) {
    message->mutable_raw_input_contents()->RemoveLast();
  }
  return true;
}

void DecodeAgainstEveryModel(const inference::ModelInferRequest& message,
                             absl::Span<const std::optional<absl::string_view>> external) {
  // The core refuses a request over the element limits before decoding it. Here the decoder
  // sees every request all the same: it must be safe on its own, huge shapes included.
  (void)CheckElementLimits(message, RequestLimits());
  for (const inference::ModelConfig& config : FuzzModelConfigs()) {
    InferenceRequest request;
    if (!DecodeInferRequest(message, config, &request, external).ok()) continue;
    CheckDecoded(config, request);
    SPEECH_CHECK(InputBytes(request) >= 0, "model '", config.name(), "': negative input bytes");
    // Its errors are bad requests too; what matters is that it reads only what was decoded.
    (void)CheckInputConstraints(config, request);
  }
}

}  // namespace speech
