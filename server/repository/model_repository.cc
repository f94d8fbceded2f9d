#include "server/repository/model_repository.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "models/instance_builder.h"
#include "server/metrics/model_stats_executor.h"
#include "server/repository/batcher_options.h"
#include "server/repository/model_config.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

// "batch cost per row (ms), rows x length: 1x16 0.12 ..." for the load log: what the batcher
// starts from, so that an operator sees whether batching pays for the model on this hardware.
std::string CostTable(const std::vector<CostSample>& samples) {
  std::string text = "measured batch cost per row in ms (rows x length):";
  for (const CostSample& sample : samples) {
    absl::StrAppend(&text, " ", sample.rows, "x", sample.length, "=",
                    absl::StrFormat("%.3g", absl::ToDoubleMilliseconds(sample.cost) / sample.rows));
  }
  return text;
}

// Loads every selected version of the model in `model_dir`; the status names the file.
absl::StatusOr<std::vector<std::unique_ptr<ServedModel>>> LoadModel(
    const fs::path& model_dir, const ModelRepository::Options& options) {
  ModelMetricsFactory* const metrics = options.metrics;
  const std::string dir = model_dir.string();
  const std::string name = model_dir.filename().string();
  absl::StatusOr<inference::ModelConfig> config = ReadModelConfig(dir);
  if (!config.ok()) return config.status();
  if (absl::Status valid = ValidateModelConfig(name, &*config); !valid.ok()) {
    return absl::Status(valid.code(), absl::StrCat(dir, "/config.pbtxt: ", valid.message()));
  }
  absl::StatusOr<std::vector<int64_t>> versions = SelectVersions(dir, *config);
  if (!versions.ok()) return versions.status();
  std::vector<std::unique_ptr<ServedModel>> served;
  for (int64_t version : *versions) {
    const std::string model_path =
        absl::StrCat(dir, "/", version, "/", config->default_model_filename());
    absl::StatusOr<ModelInstances> instances =
        BuildInstances(*config, dir, model_path, *options.instances);
    if (!instances.ok()) {
      return absl::Status(instances.status().code(), absl::StrCat(dir, " version ", version, ": ",
                                                                  instances.status().message()));
    }
    auto model = std::make_unique<ServedModel>();
    model->name = name;
    model->version = version;
    model->version_string = absl::StrCat(version);
    model->config = *config;
    if (metrics != nullptr) {
      model->stats = metrics->AddModel(name, model->version_string, config->max_batch_size());
      // Instances are wrapped after their warm-up, so warm-up runs are not counted.
      for (std::unique_ptr<BatchExecutor>& instance : instances->executors) {
        instance = std::make_unique<ModelStatsExecutor>(std::move(instance), model->stats.get());
      }
    }
    DynamicBatcher::Options batcher_options = BatcherOptionsFromConfig(*config);
    if (!instances->batch_costs.empty()) {
      std::cerr << "  model '" << name << "' version " << version << ": "
                << CostTable(instances->batch_costs) << std::endl;
    }
    if (auto it = config->parameters().find(kBatchCostModelParameter);
        it == config->parameters().end() || it->second.string_value() != "false") {
      batcher_options.cost_samples = std::move(instances->batch_costs);
    }
    absl::StatusOr<std::unique_ptr<DynamicBatcher>> batcher = DynamicBatcher::Create(
        std::move(batcher_options), std::move(instances->executors), options.clock);
    if (!batcher.ok()) {
      return absl::Status(batcher.status().code(),
                          absl::StrCat(dir, "/config.pbtxt: ", batcher.status().message()));
    }
    model->batcher = *std::move(batcher);
    served.push_back(std::move(model));
  }
  // Only once every version loaded: a version that fails destroys the others, and the catalogue
  // must never hold a reader of a batcher that is gone.
  if (metrics != nullptr) {
    for (const std::unique_ptr<ServedModel>& model : served) {
      metrics->AddQueueDepth(name, model->version_string,
                             [batcher = model->batcher.get()] { return batcher->QueueDepth(); });
    }
  }
  return served;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ModelRepository>> ModelRepository::Load(const std::string& path,
                                                                       Options options) {
  if (options.instances == nullptr) {
    return absl::InvalidArgumentError("ModelRepository::Options::instances must be set");
  }
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    return absl::NotFoundError(
        absl::StrCat("model repository '", path, "' is not a readable directory"));
  }
  std::vector<fs::path> directories;
  for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
    // Hidden directories (.git, a checkout's metadata) are not models.
    if (entry.is_directory() && entry.path().filename().string()[0] != '.') {
      directories.push_back(entry.path());
    }
  }
  std::sort(directories.begin(), directories.end());
  auto repository = std::unique_ptr<ModelRepository>(new ModelRepository());
  for (size_t i = 0; i < directories.size(); ++i) {
    const std::string name = directories[i].filename().string();
    const absl::Time start = options.clock->Now();
    absl::StatusOr<std::vector<std::unique_ptr<ServedModel>>> loaded =
        LoadModel(directories[i], options);
    const double seconds = absl::ToDoubleSeconds(options.clock->Now() - start);
    if (!loaded.ok()) {
      repository->index_.push_back(
          {name, "", "UNAVAILABLE", std::string(loaded.status().message())});
      std::cerr << "[" << i + 1 << "/" << directories.size() << "] model '" << name
                << "' failed to load: " << loaded.status().message() << std::endl;
      continue;
    }
    for (const auto& model : *loaded) {
      repository->index_.push_back({name, model->version_string, "READY", ""});
    }
    std::cerr << "[" << i + 1 << "/" << directories.size() << "] model '" << name << "' ready ("
              << loaded->size() << " version(s), " << seconds << " s)" << std::endl;
    repository->models_[name] = *std::move(loaded);
  }
  return repository;
}

ModelRepository::~ModelRepository() { Shutdown(); }

absl::StatusOr<ServedModel*> ModelRepository::Find(absl::string_view name,
                                                   absl::string_view version) const {
  auto it = models_.find(name);
  if (it == models_.end()) {
    for (const ModelState& state : index_) {
      if (state.name == name) {
        return absl::NotFoundError(absl::StrCat("model '", name, "' is not ready: ", state.reason));
      }
    }
    return absl::NotFoundError(
        absl::StrCat("Request for unknown model: '", name, "' is not in the repository"));
  }
  const std::vector<std::unique_ptr<ServedModel>>& versions = it->second;
  if (version.empty()) return versions.back().get();
  for (const auto& model : versions) {
    if (model->version_string == version) return model.get();
  }
  std::vector<std::string> loaded;
  for (const auto& model : versions) loaded.push_back(model->version_string);
  return absl::NotFoundError(absl::StrCat("model '", name, "' has no version '", version,
                                          "'; loaded versions: [", absl::StrJoin(loaded, ", "),
                                          "]"));
}

std::vector<const ServedModel*> ModelRepository::Versions(absl::string_view name) const {
  std::vector<const ServedModel*> result;
  auto it = models_.find(name);
  if (it == models_.end()) return result;
  for (const auto& model : it->second) result.push_back(model.get());
  return result;
}

std::vector<const ServedModel*> ModelRepository::AllVersions() const {
  std::vector<const ServedModel*> result;
  for (const ModelState& state : index_) {
    if (state.state != "READY") continue;
    absl::StatusOr<ServedModel*> model = Find(state.name, state.version);
    if (model.ok()) result.push_back(*model);
  }
  return result;
}

bool ModelRepository::AllReady() const {
  return std::all_of(index_.begin(), index_.end(),
                     [](const ModelState& state) { return state.state == "READY"; });
}

void ModelRepository::Shutdown() {
  for (auto& [name, versions] : models_) {
    for (auto& model : versions) model->batcher->Shutdown();
  }
}

}  // namespace speech
