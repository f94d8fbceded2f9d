#include "server/repository/model_loader.h"

#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "models/instance_builder.h"
#include "server/metrics/model/model_stats_executor.h"
#include "server/repository/config/batcher_options.h"
#include "server/repository/config/model_config.h"

namespace speech {
namespace {

// "<what> batch cost per row in ms (rows x length): 1x16=0.12 ..." for the log: what the batcher
// starts from (at load) and what it learned (at unload), so that an operator sees whether
// batching pays for the model here.
std::string CostTable(const std::string& what, const std::vector<CostSample>& samples) {
  std::string text = absl::StrCat(what, " batch cost per row in ms (rows x length):");
  for (const CostSample& sample : samples) {
    absl::StrAppend(&text, " ", sample.rows, "x", sample.length, "=",
                    absl::StrFormat("%.3g", absl::ToDoubleMilliseconds(sample.cost) / sample.rows));
  }
  return text;
}

std::shared_ptr<ServedModel> Share(const LoaderContext& context,
                                   std::unique_ptr<ServedModel> model) {
  if (context.share) return context.share(std::move(model));
  return std::shared_ptr<ServedModel>(std::move(model));
}

std::unique_ptr<ServedModel> NewVersion(const std::string& name, int64_t version,
                                        const inference::ModelConfig& config,
                                        const LoaderContext& context) {
  auto model = std::make_unique<ServedModel>();
  model->name = name;
  model->version = version;
  model->version_string = absl::StrCat(version);
  model->config = config;
  if (context.metrics != nullptr) {
    model->stats = context.metrics->AddModel(name, model->version_string, config.max_batch_size());
  }
  return model;
}

// Loads one version: instances (warmed up and their batch costs measured), then the batcher.
absl::StatusOr<std::unique_ptr<ServedModel>> LoadVersion(const std::string& dir,
                                                         const std::string& name, int64_t version,
                                                         const inference::ModelConfig& config,
                                                         const LoaderContext& context) {
  const std::string model_path =
      absl::StrCat(dir, "/", version, "/", config.default_model_filename());
  // batch_cost_model "false" forms batches by Triton's rules: nothing to measure for.
  auto cost_model_parameter = config.parameters().find(kBatchCostModelParameter);
  const bool cost_model = cost_model_parameter == config.parameters().end() ||
                          cost_model_parameter->second.string_value() != "false";
  absl::StatusOr<ModelInstances> instances =
      BuildInstances(config, dir, model_path, *context.instances, cost_model);
  if (!instances.ok()) {
    return absl::Status(instances.status().code(), absl::StrCat(dir, " version ", version, ": ",
                                                                instances.status().message()));
  }
  std::unique_ptr<ServedModel> model = NewVersion(name, version, config, context);
  if (model->stats != nullptr) {
    // Instances are wrapped after their warm-up, so warm-up runs are not counted.
    for (std::unique_ptr<BatchExecutor>& instance : instances->executors) {
      instance = std::make_unique<ModelStatsExecutor>(std::move(instance), model->stats.get());
    }
  }
  DynamicBatcher::Options batcher_options = BatcherOptionsFromConfig(config);
  if (!instances->batch_costs.empty()) {
    std::cerr << "  model '" << name << "' version " << version << ": "
              << CostTable("measured", instances->batch_costs) << std::endl;
  }
  if (cost_model) {
    batcher_options.cost_samples = std::move(instances->batch_costs);
    batcher_options.on_refined_costs = [name, version](const std::vector<CostSample>& refined,
                                                       int64_t observations) {
      std::cerr << "  model '" << name << "' version " << version << ": after " << observations
                << " executions, " << CostTable("refined", refined) << std::endl;
    };
  }
  absl::StatusOr<std::unique_ptr<DynamicBatcher>> batcher = DynamicBatcher::Create(
      std::move(batcher_options), std::move(instances->executors), context.clock);
  if (!batcher.ok()) {
    return absl::Status(batcher.status().code(),
                        absl::StrCat(dir, "/config.pbtxt: ", batcher.status().message()));
  }
  model->batcher = *std::move(batcher);
  return model;
}

}  // namespace

absl::StatusOr<inference::ModelConfig> ReadValidatedConfig(
    const std::string& model_dir, const std::optional<std::string>& override_json) {
  const std::string name = std::filesystem::path(model_dir).filename().string();
  std::string source = absl::StrCat(model_dir, "/config.pbtxt");
  absl::StatusOr<inference::ModelConfig> config;
  if (override_json.has_value()) {
    source = absl::StrCat("the config override of model '", name, "'");
    inference::ModelConfig parsed;
    const auto parsed_status = google::protobuf::util::JsonStringToMessage(*override_json, &parsed);
    if (!parsed_status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, " is not a model configuration in JSON: ", std::string(parsed_status.message())));
    }
    config = std::move(parsed);
  } else {
    config = ReadModelConfig(model_dir);
    if (!config.ok()) return config.status();
  }
  if (absl::Status valid = ValidateModelConfig(name, &*config); !valid.ok()) {
    return absl::Status(valid.code(), absl::StrCat(source, ": ", valid.message()));
  }
  return config;
}

absl::StatusOr<std::vector<std::shared_ptr<ServedModel>>> LoadModelVersions(
    const std::string& model_dir, const inference::ModelConfig& config,
    const LoaderContext& context, const ReuseVersion& reuse) {
  const std::string name = std::filesystem::path(model_dir).filename().string();
  absl::StatusOr<std::vector<int64_t>> versions = SelectVersions(model_dir, config);
  if (!versions.ok()) return versions.status();
  std::vector<std::shared_ptr<ServedModel>> served;
  for (int64_t version : *versions) {
    if (std::shared_ptr<ServedModel> kept = reuse ? reuse(version) : nullptr; kept != nullptr) {
      served.push_back(std::move(kept));
      continue;
    }
    absl::StatusOr<std::unique_ptr<ServedModel>> loaded =
        LoadVersion(model_dir, name, version, config, context);
    if (!loaded.ok()) return loaded.status();
    served.push_back(Share(context, *std::move(loaded)));
  }
  return served;
}

absl::StatusOr<std::vector<std::shared_ptr<ServedModel>>> LoadEnsembleVersions(
    const std::string& model_dir, const inference::ModelConfig& config,
    const LoaderContext& context, const StepConfigLookup& lookup) {
  if (absl::Status valid = ValidateEnsemble(config, lookup); !valid.ok()) {
    return absl::Status(valid.code(), absl::StrCat(model_dir, "/config.pbtxt: ", valid.message()));
  }
  absl::StatusOr<std::vector<int64_t>> versions = SelectVersions(model_dir, config);
  if (!versions.ok()) return versions.status();
  std::vector<std::shared_ptr<ServedModel>> served;
  for (int64_t version : *versions) {
    served.push_back(Share(context, NewVersion(config.name(), version, config, context)));
  }
  return served;
}

}  // namespace speech
