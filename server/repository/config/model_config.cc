#include "server/repository/config/model_config.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "proto/tensor_types.h"
#include "server/repository/config/ragged_validation.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

// Collects the text parser's complaints as "line:column: message (in `source line`)": the
// parser's messages do not always name the field, the line does.
class ErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit ErrorCollector(const std::string& text) : lines_(absl::StrSplit(text, '\n')) {}

  void AddError(int line, int column, const std::string& message) override {
    std::string error = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    if (line >= 0 && static_cast<size_t>(line) < lines_.size()) {
      absl::StrAppend(&error, " (in `", absl::StripAsciiWhitespace(lines_[line]), "`)");
    }
    errors_.push_back(std::move(error));
  }
  void AddWarning(int line, int column, const std::string& message) override {
    AddError(line, column, message);
  }
  std::string Joined() const { return absl::StrJoin(errors_, "; "); }

 private:
  const std::vector<std::string> lines_;
  std::vector<std::string> errors_;
};

bool IsSupportedType(DataType type) {
  switch (type) {
    case inference::TYPE_BOOL:
    case inference::TYPE_UINT8:
    case inference::TYPE_INT8:
    case inference::TYPE_INT16:
    case inference::TYPE_INT32:
    case inference::TYPE_INT64:
    case inference::TYPE_FP16:
    case inference::TYPE_BF16:
    case inference::TYPE_FP32:
    case inference::TYPE_FP64:
    case inference::TYPE_STRING:
      return true;
    default:
      return false;
  }
}

template <typename Tensor>
absl::Status ValidateTensors(absl::string_view field,
                             const google::protobuf::RepeatedPtrField<Tensor>& tensors) {
  if (tensors.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": at least one is required; got none"));
  }
  std::set<std::string> names;
  for (const Tensor& tensor : tensors) {
    const std::string where = absl::StrCat(field, " '", tensor.name(), "'");
    if (tensor.name().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": name must not be empty"));
    }
    if (!names.insert(tensor.name()).second) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": name is used twice"));
    }
    if (!IsSupportedType(tensor.data_type())) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": data_type ", inference::DataType_Name(tensor.data_type()),
          " is not supported; expected one of TYPE_BOOL, TYPE_UINT8, TYPE_INT8, TYPE_INT16, "
          "TYPE_INT32, TYPE_INT64, TYPE_FP16, TYPE_BF16, TYPE_FP32, TYPE_FP64, TYPE_STRING"));
    }
    for (int64_t dim : tensor.dims()) {
      if (dim == 0 || dim < -1) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": dims ",
            ShapeToString(absl::MakeConstSpan(tensor.dims().data(), tensor.dims().size())),
            " must hold positive sizes or -1 (variable); got ", dim));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateDynamicBatching(const inference::ModelConfig& config) {
  const inference::ModelDynamicBatching& batching = config.dynamic_batching();
  if (config.max_batch_size() == 0) {
    return absl::InvalidArgumentError(
        "dynamic_batching: needs max_batch_size > 0; max_batch_size is 0");
  }
  for (int size : batching.preferred_batch_size()) {
    if (size < 1 || size > config.max_batch_size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dynamic_batching.preferred_batch_size: each must be in [1, max_batch_size = ",
          config.max_batch_size(), "]; got ", size));
    }
  }
  if (batching.priority_levels() > 0 || !batching.priority_queue_policy().empty()) {
    return absl::InvalidArgumentError(
        "dynamic_batching.priority_levels: priority queues are not supported; expected 0");
  }
  return absl::OkStatus();
}

// What an ensemble's own configuration may hold: steps, inputs and outputs; nothing the server
// would pad or fill (its steps do that).
absl::Status ValidateEnsembleShape(const inference::ModelConfig& config) {
  if (config.ensemble_scheduling().step_size() == 0) {
    return absl::InvalidArgumentError("ensemble_scheduling: needs at least one step; got none");
  }
  // dynamic_batching cannot be given: it and ensemble_scheduling are one oneof.
  for (const inference::ModelInput& input : config.input()) {
    if (input.has_ragged_padding()) {
      return absl::InvalidArgumentError(
          absl::StrCat("input '", input.name(),
                       "': ragged_padding belongs on the step models, not the ensemble"));
    }
  }
  if (config.batch_input_size() > 0 || config.batch_output_size() > 0) {
    return absl::InvalidArgumentError(
        "batch_input/batch_output: belong on the step models, not the ensemble");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<inference::ModelConfig> ReadModelConfig(const std::string& model_dir) {
  const std::string path = model_dir + "/config.pbtxt";
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat(path, ": file not found"));
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors(text);
  parser.RecordErrorsTo(&errors);
  inference::ModelConfig config;
  if (!parser.ParseFromString(text, &config)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ":", errors.Joined()));
  }
  return config;
}

bool IsEnsemble(const inference::ModelConfig& config) {
  return config.platform() == kEnsemblePlatform;
}

absl::Status ValidateModelConfig(const std::string& directory_name,
                                 inference::ModelConfig* config) {
  if (config->name().empty()) config->set_name(directory_name);
  if (config->name() != directory_name) {
    return absl::InvalidArgumentError(absl::StrCat(
        "name: must match the model directory '", directory_name, "'; got '", config->name(), "'"));
  }
  const bool ensemble = IsEnsemble(*config);
  const bool platform_ok = config->platform().empty() || config->platform() == kTorchPlatform;
  const bool backend_ok = config->backend().empty() || config->backend() == kTorchBackend;
  if (ensemble) {
    if (!config->backend().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("backend: an ensemble (platform 'ensemble') has no backend; got '",
                       config->backend(), "'"));
    }
  } else if (!platform_ok || !backend_ok ||
             (config->platform().empty() && config->backend().empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("platform/backend: expected platform '", kTorchPlatform, "' or backend '",
                     kTorchBackend, "', or platform '", kEnsemblePlatform, "'; got platform '",
                     config->platform(), "', backend '", config->backend(), "'"));
  } else {
    config->set_platform(kTorchPlatform);
    config->set_backend(kTorchBackend);
  }
  if (config->max_batch_size() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_batch_size: must be >= 0; got ", config->max_batch_size()));
  }
  if (absl::Status s = ValidateTensors("input", config->input()); !s.ok()) return s;
  if (absl::Status s = ValidateTensors("output", config->output()); !s.ok()) return s;
  if (config->max_batch_size() == 0) {
    for (const inference::ModelInput& input : config->input()) {
      if (input.dims().empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "input '", input.name(), "': dims must not be empty when max_batch_size is 0"));
      }
    }
  }
  if (absl::Status s = ValidateRaggedBatching(*config); !s.ok()) return s;
  for (const char* name : {kInlineWhenIdleParameter, kBatchCostModelParameter}) {
    if (auto it = config->parameters().find(name); it != config->parameters().end() &&
                                                   it->second.string_value() != "true" &&
                                                   it->second.string_value() != "false") {
      return absl::InvalidArgumentError(absl::StrCat("parameters '", name,
                                                     "': expected \"true\" or \"false\"; got \"",
                                                     it->second.string_value(), "\""));
    }
  }
  if (config->has_sequence_batching()) {
    return absl::InvalidArgumentError(
        "scheduling: sequence_batching is not supported; expected dynamic_batching, "
        "ensemble_scheduling (platform 'ensemble') or none");
  }
  if (config->has_ensemble_scheduling() != ensemble) {
    return absl::InvalidArgumentError(
        ensemble ? "ensemble_scheduling: an ensemble needs its steps; got none"
                 : "ensemble_scheduling: only a model of platform 'ensemble' has steps");
  }
  if (ensemble) {
    if (absl::Status s = ValidateEnsembleShape(*config); !s.ok()) return s;
  }
  if (config->has_dynamic_batching()) {
    if (absl::Status s = ValidateDynamicBatching(*config); !s.ok()) return s;
  }
  for (const inference::ModelWarmup& warmup : config->model_warmup()) {
    if (config->max_batch_size() > 0 &&
        static_cast<int64_t>(warmup.batch_size()) > config->max_batch_size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("model_warmup '", warmup.name(), "': batch_size must be <= max_batch_size ",
                       config->max_batch_size(), "; got ", warmup.batch_size()));
    }
  }
  if (config->default_model_filename().empty()) {
    config->set_default_model_filename(kDefaultModelFilename);
  }
  if (!config->has_version_policy()) config->mutable_version_policy()->mutable_latest();
  if (config->version_policy().has_latest() &&
      config->version_policy().latest().num_versions() == 0) {
    config->mutable_version_policy()->mutable_latest()->set_num_versions(1);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> SelectVersions(const std::string& model_dir,
                                                    const inference::ModelConfig& config) {
  std::vector<int64_t> present;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(model_dir, error)) {
    int64_t version;
    const std::string name = entry.path().filename().string();
    // Only canonical decimal names: "01" or "+1" would name a version whose files are not there.
    if (entry.is_directory() && absl::SimpleAtoi(name, &version) && version >= 0 &&
        absl::StrCat(version) == name) {
      present.push_back(version);
    }
  }
  std::sort(present.begin(), present.end());
  if (present.empty()) {
    return absl::NotFoundError(
        absl::StrCat(model_dir, ": no version directory (such as ", model_dir, "/1)"));
  }
  const inference::ModelVersionPolicy& policy = config.version_policy();
  if (policy.has_all()) return present;
  if (policy.has_specific()) {
    std::vector<int64_t> chosen(policy.specific().versions().begin(),
                                policy.specific().versions().end());
    std::sort(chosen.begin(), chosen.end());
    chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
    for (int64_t version : chosen) {
      if (!std::binary_search(present.begin(), present.end(), version)) {
        return absl::NotFoundError(absl::StrCat("version_policy.specific: version ", version,
                                                " has no directory; present: [",
                                                absl::StrJoin(present, ", "), "]"));
      }
    }
    return chosen;
  }
  const size_t keep = std::max<size_t>(1, policy.latest().num_versions());
  if (present.size() > keep) present.erase(present.begin(), present.end() - keep);
  return present;
}

}  // namespace speech
