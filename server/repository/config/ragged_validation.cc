#include "server/repository/config/ragged_validation.h"

#include <cmath>
#include <limits>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

using inference::BatchInput;
using inference::BatchOutput;
using inference::ModelConfig;
using inference::ModelInput;
using inference::ModelOutput;

absl::Status Invalid(const std::string& where, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(where, ": ", problem));
}

int VariableDims(const google::protobuf::RepeatedField<int64_t>& dims) {
  int count = 0;
  for (int64_t dim : dims) count += dim < 0 ? 1 : 0;
  return count;
}

std::string DimsText(const google::protobuf::RepeatedField<int64_t>& dims) {
  return ShapeToString(absl::MakeConstSpan(dims.data(), dims.size()));
}

// The dims the model itself produces for an output (its reshape, when it has one).
const google::protobuf::RepeatedField<int64_t>& ModelDims(const ModelOutput& output) {
  return output.has_reshape() ? output.reshape().shape() : output.dims();
}

bool IsInteger(inference::DataType type) {
  switch (type) {
    case inference::TYPE_UINT8:
    case inference::TYPE_INT8:
    case inference::TYPE_INT16:
    case inference::TYPE_INT32:
    case inference::TYPE_INT64:
      return true;
    default:
      return false;
  }
}

bool IsFloat(inference::DataType type) {
  return type == inference::TYPE_FP16 || type == inference::TYPE_BF16 ||
         type == inference::TYPE_FP32 || type == inference::TYPE_FP64;
}

// The range of values an integer data type holds.
std::pair<double, double> IntegerRange(inference::DataType type) {
  switch (type) {
    case inference::TYPE_UINT8:
      return {0, 255};
    case inference::TYPE_INT8:
      return {-128, 127};
    case inference::TYPE_INT16:
      return {-32768, 32767};
    case inference::TYPE_INT32:
      return {std::numeric_limits<int32_t>::min(), std::numeric_limits<int32_t>::max()};
    default:
      return {-9.007199254740992e15, 9.007199254740992e15};  // exact in a double
  }
}

// True when `type` can hold `value` exactly.
bool Fits(inference::DataType type, double value) {
  if (type == inference::TYPE_BOOL) return value == 0 || value == 1;
  if (IsInteger(type)) {
    const auto [low, high] = IntegerRange(type);
    return value == std::floor(value) && value >= low && value <= high;
  }
  return !std::isnan(value);
}

const ModelInput* FindInput(const ModelConfig& config, const std::string& name) {
  for (const ModelInput& input : config.input()) {
    if (input.name() == name) return &input;
  }
  return nullptr;
}

const ModelOutput* FindOutput(const ModelConfig& config, const std::string& name) {
  for (const ModelOutput& output : config.output()) {
    if (output.name() == name) return &output;
  }
  return nullptr;
}

// Per-row element count of a tensor's dims (-1 when one is variable).
int64_t RowElements(const google::protobuf::RepeatedField<int64_t>& dims) {
  int64_t count = 1;
  for (int64_t dim : dims) {
    if (dim < 0) return -1;
    count *= dim;
  }
  return count;
}

absl::Status ValidateConstraints(const ModelConfig& config, const ModelInput& input) {
  const inference::InputConstraints& rule = input.constraints();
  const std::string where = absl::StrCat("input '", input.name(), "': constraints");
  const bool variable = VariableDims(input.dims()) > 0;
  if (rule.min_length() < 0 || rule.max_length() < 0) {
    return Invalid(where, absl::StrCat("min_length and max_length must be >= 0; got ",
                                       rule.min_length(), " and ", rule.max_length()));
  }
  if ((rule.min_length() > 0 || rule.max_length() > 0) && !variable) {
    return Invalid(where, absl::StrCat("min_length and max_length need a variable (-1) "
                                       "dimension; dims are ",
                                       DimsText(input.dims())));
  }
  if (rule.max_length() > 0 && rule.min_length() > rule.max_length()) {
    return Invalid(where, absl::StrCat("min_length ", rule.min_length(),
                                       " is greater than max_length ", rule.max_length()));
  }
  if (rule.has_min_value() && rule.has_max_value() && rule.min_value() > rule.max_value()) {
    return Invalid(where, absl::StrCat("min_value ", rule.min_value(),
                                       " is greater than max_value ", rule.max_value()));
  }
  const bool strings = input.data_type() == inference::TYPE_STRING;
  if (strings && (rule.has_min_value() || rule.has_max_value())) {
    return Invalid(where, "min_value and max_value apply to numbers; data_type is TYPE_STRING");
  }
  if (!strings && (rule.min_element_bytes() > 0 || rule.max_element_bytes() > 0 || rule.utf8())) {
    return Invalid(where, absl::StrCat("min_element_bytes, max_element_bytes and utf8 apply to "
                                       "TYPE_STRING inputs; data_type is ",
                                       inference::DataType_Name(input.data_type())));
  }
  if (rule.min_element_bytes() < 0 || rule.max_element_bytes() < 0 ||
      (rule.max_element_bytes() > 0 && rule.min_element_bytes() > rule.max_element_bytes())) {
    return Invalid(where,
                   absl::StrCat("element bytes must satisfy 0 <= min_element_bytes <= "
                                "max_element_bytes; got ",
                                rule.min_element_bytes(), " and ", rule.max_element_bytes()));
  }
  if (rule.finite() && !IsFloat(input.data_type())) {
    return Invalid(where, absl::StrCat("finite applies to floating-point inputs; data_type is ",
                                       inference::DataType_Name(input.data_type())));
  }
  if (rule.not_all_pad() && !input.has_ragged_padding()) {
    return Invalid(where, "not_all_pad needs ragged_padding, whose pad_value it compares with");
  }
  if (!rule.lengths_of().empty()) {
    const ModelInput* data = FindInput(config, rule.lengths_of());
    if (data == nullptr || data == &input) {
      return Invalid(
          where, absl::StrCat("lengths_of must name another input; got '", rule.lengths_of(), "'"));
    }
    if (VariableDims(data->dims()) != 1) {
      return Invalid(where, absl::StrCat("lengths_of input '", data->name(),
                                         "' must have exactly one variable dimension; dims are ",
                                         DimsText(data->dims())));
    }
    if (!IsInteger(input.data_type()) || RowElements(input.dims()) != 1) {
      return Invalid(where, absl::StrCat("an input of lengths holds one integer per row; data_type "
                                         "is ",
                                         inference::DataType_Name(input.data_type()), ", dims ",
                                         DimsText(input.dims())));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidatePadding(const ModelConfig& config, const ModelInput& input) {
  const std::string where = absl::StrCat("input '", input.name(), "': ragged_padding");
  if (input.data_type() == inference::TYPE_STRING) {
    return Invalid(where, "TYPE_STRING inputs cannot be padded");
  }
  if (config.max_batch_size() == 0) {
    return Invalid(where, "needs a batching model; max_batch_size is 0");
  }
  if (VariableDims(input.dims()) == 0) {
    return Invalid(where, absl::StrCat("needs a variable (-1) dimension to pad; dims are ",
                                       DimsText(input.dims())));
  }
  if (!Fits(input.data_type(), input.ragged_padding().pad_value())) {
    return Invalid(where, absl::StrCat("pad_value ", input.ragged_padding().pad_value(),
                                       " does not fit data_type ",
                                       inference::DataType_Name(input.data_type())));
  }
  const double fraction = input.ragged_padding().bucket_fraction();
  if (!(fraction >= 0 && fraction <= 0.5)) {
    return Invalid(where, absl::StrCat("bucket_fraction must be in [0, 0.5]; was ", fraction));
  }
  return absl::OkStatus();
}

absl::Status ValidateBatchInput(const ModelConfig& config, const BatchInput& batch_input,
                                std::set<std::string>* names) {
  const std::string target =
      batch_input.target_name_size() > 0 ? batch_input.target_name(0) : std::string();
  const std::string where = absl::StrCat("batch_input '", target, "'");
  if (batch_input.target_name_size() != 1 || target.empty()) {
    return Invalid(
        where, absl::StrCat("needs exactly one target_name; got ", batch_input.target_name_size()));
  }
  if (!names->insert(target).second) {
    return Invalid(where, "target_name is already an input or another batch_input");
  }
  if (config.max_batch_size() == 0) {
    return Invalid(where, "needs a batching model; max_batch_size is 0");
  }
  if (batch_input.kind() != BatchInput::BATCH_ELEMENT_COUNT &&
      batch_input.kind() != BatchInput::BATCH_ITEM_SHAPE) {
    return Invalid(where, absl::StrCat("kind ", BatchInput::Kind_Name(batch_input.kind()),
                                       " is not supported; expected BATCH_ELEMENT_COUNT or "
                                       "BATCH_ITEM_SHAPE"));
  }
  if (batch_input.data_type() != inference::TYPE_INT32 &&
      batch_input.data_type() != inference::TYPE_INT64) {
    return Invalid(where, absl::StrCat("data_type must be TYPE_INT32 or TYPE_INT64; got ",
                                       inference::DataType_Name(batch_input.data_type())));
  }
  if (batch_input.source_input_size() != 1 ||
      FindInput(config, batch_input.source_input(0)) == nullptr) {
    return Invalid(where, absl::StrCat("needs exactly one source_input naming an input; got [",
                                       absl::StrJoin(batch_input.source_input(), ", "), "]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateBatchOutputSource(const ModelConfig& config, const BatchOutput& rule,
                                       const ModelOutput& output, const std::string& where) {
  if (rule.kind() == BatchOutput::BATCH_SCATTER_WITH_INPUT_SHAPE) {
    const ModelInput* source =
        rule.source_input_size() == 1 ? FindInput(config, rule.source_input(0)) : nullptr;
    if (source == nullptr) {
      return Invalid(where, absl::StrCat("needs exactly one source_input naming an input; got [",
                                         absl::StrJoin(rule.source_input(), ", "), "]"));
    }
    if (VariableDims(ModelDims(output)) != VariableDims(source->dims())) {
      return Invalid(
          where, absl::StrCat("output dims ", DimsText(ModelDims(output)), " and source_input '",
                              source->name(), "' dims ", DimsText(source->dims()),
                              " must have as many variable dimensions"));
    }
    return absl::OkStatus();
  }
  if (rule.kind() != BatchOutput::BATCH_SCATTER_WITH_OUTPUT_LENGTHS) {
    return Invalid(where,
                   absl::StrCat("kind ", BatchOutput::Kind_Name(rule.kind()), " is not supported"));
  }
  const ModelOutput* source =
      rule.source_output_size() == 1 ? FindOutput(config, rule.source_output(0)) : nullptr;
  if (source == nullptr || source == &output) {
    return Invalid(where, absl::StrCat("needs exactly one source_output naming another output; "
                                       "got [",
                                       absl::StrJoin(rule.source_output(), ", "), "]"));
  }
  if (!IsInteger(source->data_type()) || RowElements(ModelDims(*source)) != 1) {
    return Invalid(where, absl::StrCat("source_output '", source->name(),
                                       "' must hold one integer per row; it is ",
                                       inference::DataType_Name(source->data_type()), " ",
                                       DimsText(ModelDims(*source))));
  }
  if (VariableDims(ModelDims(output)) != 1) {
    return Invalid(where, absl::StrCat("BATCH_SCATTER_WITH_OUTPUT_LENGTHS cuts one variable "
                                       "dimension; output dims are ",
                                       DimsText(ModelDims(output))));
  }
  return absl::OkStatus();
}

absl::Status ValidateBatchOutputs(const ModelConfig& config, std::set<std::string>* cut) {
  for (const BatchOutput& rule : config.batch_output()) {
    if (rule.target_name_size() == 0) return Invalid("batch_output", "needs a target_name");
    if (config.max_batch_size() == 0) {
      return Invalid("batch_output", "needs a batching model; max_batch_size is 0");
    }
    for (const std::string& target : rule.target_name()) {
      const std::string where = absl::StrCat("batch_output '", target, "'");
      const ModelOutput* output = FindOutput(config, target);
      if (output == nullptr) return Invalid(where, "target_name names no output");
      if (!cut->insert(target).second) return Invalid(where, "output is cut by two batch_outputs");
      if (absl::Status s = ValidateBatchOutputSource(config, rule, *output, where); !s.ok()) {
        return s;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateRaggedBatching(const ModelConfig& config) {
  bool padded = false;
  std::set<std::string> names;
  for (const ModelInput& input : config.input()) {
    names.insert(input.name());
    if (absl::Status s = ValidateConstraints(config, input); !s.ok()) return s;
    if (input.allow_ragged_batch() && !input.has_ragged_padding()) {
      return Invalid(absl::StrCat("input '", input.name(), "': allow_ragged_batch"),
                     "Triton's concatenation of ragged inputs is not supported; expected "
                     "ragged_padding, which pads each item to the longest in the batch");
    }
    if (!input.has_ragged_padding()) continue;
    padded = true;
    if (absl::Status s = ValidatePadding(config, input); !s.ok()) return s;
  }
  for (const BatchInput& batch_input : config.batch_input()) {
    if (absl::Status s = ValidateBatchInput(config, batch_input, &names); !s.ok()) return s;
  }
  std::set<std::string> cut;
  if (absl::Status s = ValidateBatchOutputs(config, &cut); !s.ok()) return s;
  if (!padded) return absl::OkStatus();
  for (const ModelOutput& output : config.output()) {
    if (VariableDims(ModelDims(output)) > 0 && cut.count(output.name()) == 0) {
      return Invalid(absl::StrCat("output '", output.name(), "'"),
                     absl::StrCat("dims ", DimsText(output.dims()),
                                  " vary, but inputs are padded (ragged_padding) and no "
                                  "batch_output says how to cut it back to each request"));
    }
  }
  return absl::OkStatus();
}

}  // namespace speech
