#include "server/model_repository.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "models/instance_pool.h"
#include "server/model_config.h"
#include "server/model_stats_executor.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

// Loads every selected version of the model in `model_dir`; the status names the file.
absl::StatusOr<std::vector<std::unique_ptr<ServedModel>>> LoadModel(const fs::path& model_dir,
                                                                    MetricsCatalog* metrics) {
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
    absl::StatusOr<std::vector<std::unique_ptr<BatchExecutor>>> instances =
        CreateInstances(*config, dir, model_path);
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
      for (std::unique_ptr<BatchExecutor>& instance : *instances) {
        instance = std::make_unique<ModelStatsExecutor>(std::move(instance), model->stats.get());
      }
    }
    absl::StatusOr<std::unique_ptr<DynamicBatcher>> batcher =
        DynamicBatcher::Create(BatcherOptionsFromConfig(*config), *std::move(instances));
    if (!batcher.ok()) {
      return absl::Status(batcher.status().code(),
                          absl::StrCat(dir, "/config.pbtxt: ", batcher.status().message()));
    }
    model->batcher = *std::move(batcher);
    if (metrics != nullptr) {
      metrics->AddQueueDepth(name, model->version_string,
                             [batcher = model->batcher.get()] { return batcher->QueueDepth(); });
    }
    served.push_back(std::move(model));
  }
  return served;
}

}  // namespace

DynamicBatcher::Options BatcherOptionsFromConfig(const inference::ModelConfig& config) {
  DynamicBatcher::Options options;
  options.model_name = config.name();
  options.max_batch_size = config.max_batch_size();
  options.dynamic_batching = config.has_dynamic_batching();
  // Our extension, as a Triton model parameter: run a lone request on the gRPC handler's thread
  // when an instance is idle (for models that take microseconds).
  auto inline_parameter = config.parameters().find(kInlineWhenIdleParameter);
  options.run_inline_when_idle = inline_parameter != config.parameters().end() &&
                                 inline_parameter->second.string_value() == "true";
  if (!config.has_dynamic_batching()) return options;
  const inference::ModelDynamicBatching& batching = config.dynamic_batching();
  options.preferred_batch_sizes.assign(batching.preferred_batch_size().begin(),
                                       batching.preferred_batch_size().end());
  options.max_queue_delay = absl::Microseconds(batching.max_queue_delay_microseconds());
  options.preserve_ordering = batching.preserve_ordering();
  const inference::ModelQueuePolicy& policy = batching.default_queue_policy();
  options.max_queue_size = policy.max_queue_size();
  options.default_timeout = absl::Microseconds(policy.default_timeout_microseconds());
  options.allow_timeout_override = policy.allow_timeout_override();
  options.timeout_action = policy.timeout_action() == inference::ModelQueuePolicy::DELAY
                               ? DynamicBatcher::TimeoutAction::kDelay
                               : DynamicBatcher::TimeoutAction::kReject;
  return options;
}

absl::StatusOr<std::unique_ptr<ModelRepository>> ModelRepository::Load(const std::string& path,
                                                                       MetricsCatalog* metrics) {
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    return absl::NotFoundError(
        absl::StrCat("model repository '", path, "' is not a readable directory"));
  }
  std::vector<fs::path> directories;
  for (const fs::directory_entry& entry : fs::directory_iterator(path, error)) {
    if (entry.is_directory()) directories.push_back(entry.path());
  }
  std::sort(directories.begin(), directories.end());
  auto repository = std::unique_ptr<ModelRepository>(new ModelRepository());
  for (size_t i = 0; i < directories.size(); ++i) {
    const std::string name = directories[i].filename().string();
    const absl::Time start = absl::Now();
    absl::StatusOr<std::vector<std::unique_ptr<ServedModel>>> loaded =
        LoadModel(directories[i], metrics);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
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
    return absl::NotFoundError(absl::StrCat("model '", name, "' is not in the repository"));
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
