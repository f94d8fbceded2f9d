#include "server/repository/config/ensemble_validation.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "proto/tensor_types.h"

namespace speech {
namespace {

using inference::ModelConfig;
using Step = inference::ModelEnsembling::Step;

// What is known of an ensemble tensor: its type and dims (batch dimension left out) and who
// made it.
struct Tensor {
  inference::DataType type = inference::TYPE_INVALID;
  std::vector<int64_t> dims;
  std::string source;  // "ensemble input" or "step N (model 'M')"
};

std::vector<int64_t> Dims(const google::protobuf::RepeatedField<int64_t>& dims) {
  return std::vector<int64_t>(dims.begin(), dims.end());
}

bool Compatible(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  if (a.size() != b.size()) return false;
  for (size_t d = 0; d < a.size(); ++d) {
    if (a[d] >= 0 && b[d] >= 0 && a[d] != b[d]) return false;
  }
  return true;
}

std::string StepName(int index, const Step& step) {
  return absl::StrCat("ensemble_scheduling step ", index, " (model '", step.model_name(), "')");
}

// `what` (an input or output of a model, or an ensemble output) of `type` and `dims` against the
// ensemble tensor it is wired to.
absl::Status Agree(const std::string& where, const std::string& what, inference::DataType type,
                   const std::vector<int64_t>& dims, const std::string& tensor_name,
                   const Tensor& tensor) {
  if (type != tensor.type) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", what, " is ", inference::DataType_Name(type), " but ensemble tensor '",
        tensor_name, "' (from ", tensor.source, ") is ", inference::DataType_Name(tensor.type)));
  }
  if (!Compatible(dims, tensor.dims)) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": ", what, " has dims ", ShapeToString(dims), " but ensemble tensor '", tensor_name,
        "' (from ", tensor.source, ") has dims ", ShapeToString(tensor.dims)));
  }
  return absl::OkStatus();
}

// The step's own model against the ensemble: found, batching as the ensemble does, every input
// mapped, every mapped name one of its inputs or outputs.
absl::Status CheckStepModel(const ModelConfig& ensemble, const std::string& where, const Step& step,
                            const ModelConfig& model) {
  if (model.platform() == "ensemble") {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": is itself an ensemble; steps must be models (not supported)"));
  }
  const bool batching = ensemble.max_batch_size() > 0;
  if (batching != (model.max_batch_size() > 0) ||
      (batching && model.max_batch_size() < ensemble.max_batch_size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": max_batch_size is ", model.max_batch_size(), "; the ensemble's is ",
        ensemble.max_batch_size(),
        " (a step batches when the ensemble does, up to at least the ensemble's size)"));
  }
  std::set<std::string> inputs;
  for (const inference::ModelInput& input : model.input()) {
    inputs.insert(input.name());
    if (step.input_map().count(input.name()) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": its input '", input.name(), "' is not in input_map"));
    }
  }
  for (const auto& [key, value] : step.input_map()) {
    if (inputs.count(key) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": input_map names '", key, "', which is not an input of the model"));
    }
  }
  for (const auto& [key, value] : step.output_map()) {
    bool known = false;
    for (const inference::ModelOutput& output : model.output()) known |= output.name() == key;
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": output_map names '", key,
                                                     "', which is not an output of the model"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string StepVersion(const Step& step) {
  return step.model_version() > 0 ? absl::StrCat(step.model_version()) : std::string();
}

absl::Status ValidateEnsemble(const ModelConfig& ensemble, const StepConfigLookup& lookup) {
  std::map<std::string, Tensor> tensors;
  for (const inference::ModelInput& input : ensemble.input()) {
    tensors[input.name()] = {input.data_type(), Dims(input.dims()), "ensemble input"};
  }
  const auto& steps = ensemble.ensemble_scheduling().step();
  std::vector<const ModelConfig*> models(steps.size());
  for (int i = 0; i < steps.size(); ++i) {
    const std::string where = StepName(i, steps[i]);
    absl::StatusOr<const ModelConfig*> model = lookup(steps[i].model_name(), StepVersion(steps[i]));
    if (!model.ok()) {
      return absl::Status(model.status().code(),
                          absl::StrCat(where, ": ", model.status().message()));
    }
    if (absl::Status s = CheckStepModel(ensemble, where, steps[i], **model); !s.ok()) return s;
    models[i] = *model;
  }
  // Run the steps in data order: each pass takes every step whose inputs are all known.
  std::vector<bool> done(steps.size(), false);
  for (size_t finished = 0; finished < static_cast<size_t>(steps.size());) {
    const size_t before = finished;
    for (int i = 0; i < steps.size(); ++i) {
      if (done[i]) continue;
      bool ready = true;
      for (const auto& [key, value] : steps[i].input_map()) ready &= tensors.count(value) > 0;
      if (!ready) continue;
      const std::string where = StepName(i, steps[i]);
      for (const inference::ModelInput& input : models[i]->input()) {
        const std::string& name = steps[i].input_map().at(input.name());
        if (absl::Status s = Agree(where, absl::StrCat("input '", input.name(), "'"),
                                   input.data_type(), Dims(input.dims()), name, tensors.at(name));
            !s.ok()) {
          return s;
        }
      }
      for (const inference::ModelOutput& output : models[i]->output()) {
        auto mapped = steps[i].output_map().find(output.name());
        if (mapped == steps[i].output_map().end()) continue;  // nobody needs it
        if (tensors.count(mapped->second) > 0) {
          return absl::InvalidArgumentError(absl::StrCat(
              where, ": output '", output.name(), "' writes ensemble tensor '", mapped->second,
              "', which ", tensors.at(mapped->second).source, " already produces"));
        }
        tensors[mapped->second] = {output.data_type(), Dims(output.dims()), where};
      }
      done[i] = true;
      ++finished;
    }
    if (finished == before) {
      for (int i = 0; i < steps.size(); ++i) {
        if (done[i]) continue;
        for (const auto& [key, value] : steps[i].input_map()) {
          if (tensors.count(value) == 0) {
            return absl::InvalidArgumentError(absl::StrCat(
                StepName(i, steps[i]), ": input '", key, "' reads ensemble tensor '", value,
                "', which is neither an ensemble input nor produced by a step that can run "
                "(missing, or a cycle)"));
          }
        }
      }
    }
  }
  for (const inference::ModelOutput& output : ensemble.output()) {
    auto it = tensors.find(output.name());
    if (it == tensors.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("output '", output.name(), "': no step's output_map produces it"));
    }
    if (absl::Status s = Agree(absl::StrCat("output '", output.name(), "'"), "the ensemble output",
                               output.data_type(), Dims(output.dims()), output.name(), it->second);
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace speech
