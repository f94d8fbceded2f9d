#include "server/repository/model_repository.h"

#include <filesystem>
#include <iostream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/repository/config/model_config.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

constexpr char kUnloaded[] = "unloaded";

bool HasDirectory(const std::string& path, const std::string& name) {
  std::error_code error;
  return !name.empty() && name[0] != '.' && name.find('/') == std::string::npos &&
         fs::is_directory(fs::path(path) / name, error);
}

// True when `name`'s config.pbtxt reads as an ensemble; anything unreadable counts as a model
// (its load then reports the problem).
bool LooksLikeEnsemble(const std::string& path, const std::string& name) {
  absl::StatusOr<inference::ModelConfig> config = ReadModelConfig((fs::path(path) / name).string());
  return config.ok() && IsEnsemble(*config);
}

}  // namespace

absl::string_view ModelControlModeName(ModelControlMode mode) {
  switch (mode) {
    case ModelControlMode::kNone:
      return "none";
    case ModelControlMode::kPoll:
      return "poll";
    case ModelControlMode::kExplicit:
      return "explicit";
  }
  return "?";
}

ModelRepository::ModelRepository(std::string path, Options options)
    : path_(std::move(path)), options_(std::move(options)), retired_(RetiredModels::Create()) {
  loader_.instances = options_.instances;
  loader_.clock = options_.clock;
  loader_.metrics = options_.metrics;
  loader_.share = [retired = retired_](std::unique_ptr<ServedModel> model) {
    return retired->Share(std::move(model));
  };
}

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
  std::vector<std::string> names = ListModelDirectories(path);
  if (options.control_mode == ModelControlMode::kExplicit) {
    const std::vector<std::string>& wanted = options.startup_models;
    if (std::find(wanted.begin(), wanted.end(), "*") == wanted.end()) names = wanted;
  }
  auto repository = std::unique_ptr<ModelRepository>(new ModelRepository(path, std::move(options)));
  absl::MutexLock lock(&repository->control_mu_);
  repository->LoadAllLocked(names);
  return repository;
}

ModelRepository::~ModelRepository() {
  Shutdown();
  std::map<std::string, Entry, std::less<>> models;
  {
    absl::MutexLock lock(&mu_);
    models.swap(models_);
  }
  models.clear();  // hands every version to the retirement thread
  retired_->Stop();
}

void ModelRepository::LoadAllLocked(const std::vector<std::string>& names) {
  // Models first, then the ensembles that run them.
  std::vector<std::string> models;
  std::vector<std::string> ensembles;
  for (const std::string& name : names) {
    (LooksLikeEnsemble(path_, name) ? ensembles : models).push_back(name);
  }
  const size_t total = names.size();
  size_t done = 0;
  for (const std::vector<std::string>* group : {&models, &ensembles}) {
    for (const std::string& name : *group) {
      LoadLocked(name, std::nullopt, absl::StrCat("[", ++done, "/", total, "] ")).IgnoreError();
    }
  }
}

absl::Status ModelRepository::LoadLocked(const std::string& name,
                                         const std::optional<std::string>& config_json,
                                         const std::string& progress) {
  const absl::Time start = options_.clock->Now();
  const std::string dir = (fs::path(path_) / name).string();
  ModelFiles files = ReadModelFiles(path_, name);
  if (config_json.has_value()) files.config_text = absl::StrCat("override ", *config_json);
  absl::StatusOr<std::vector<std::shared_ptr<ServedModel>>> loaded;
  bool is_ensemble = false;
  if (!HasDirectory(path_, name)) {
    loaded = absl::NotFoundError(
        absl::StrCat("model '", name, "' has no directory in the model repository '", path_, "'"));
  } else if (absl::StatusOr<inference::ModelConfig> config = ReadValidatedConfig(dir, config_json);
             !config.ok()) {
    loaded = config.status();
  } else if (IsEnsemble(*config)) {
    is_ensemble = true;
    // Steps whose models are not serving yet load first (none of them is an ensemble: an
    // ensemble of ensembles is refused by validation).
    for (const auto& step : config->ensemble_scheduling().step()) {
      const std::string& step_model = step.model_name();
      if (step_model == name || Find(step_model, "").ok() || !HasDirectory(path_, step_model) ||
          LooksLikeEnsemble(path_, step_model)) {
        continue;
      }
      LoadLocked(step_model, std::nullopt, absl::StrCat(progress, "  step of '", name, "': "))
          .IgnoreError();
    }
    loaded = LoadEnsembleVersions(dir, *config, loader_, ConfigLookup());
  } else {
    // Versions whose files are as they were, under the same configuration, keep serving as
    // they are instead of loading again.
    std::vector<std::shared_ptr<ServedModel>> serving;
    std::optional<ModelFiles> previous;
    {
      absl::MutexLock lock(&mu_);
      if (auto it = models_.find(name); it != models_.end()) {
        serving = it->second.versions;
        previous = it->second.files;
      }
    }
    const ReuseVersion reuse = [&](int64_t version) -> std::shared_ptr<ServedModel> {
      if (!previous.has_value() || previous->config_text != files.config_text) return nullptr;
      auto old_files = previous->versions.find(version);
      auto new_files = files.versions.find(version);
      if (old_files == previous->versions.end() || new_files == files.versions.end() ||
          old_files->second != new_files->second) {
        return nullptr;
      }
      for (const std::shared_ptr<ServedModel>& model : serving) {
        if (model->version == version) return model;
      }
      return nullptr;
    };
    loaded = LoadModelVersions(dir, *config, loader_, reuse);
  }
  const double seconds = absl::ToDoubleSeconds(options_.clock->Now() - start);
  std::vector<std::shared_ptr<ServedModel>> replaced;
  {
    absl::MutexLock lock(&mu_);
    Entry& entry = models_[name];
    entry.files = std::move(files);
    if (!loaded.ok()) {
      entry.problem = std::string(loaded.status().message());
    } else {
      replaced = std::move(entry.versions);
      entry.versions = *loaded;
      entry.problem.clear();
      entry.is_ensemble = is_ensemble;
    }
  }
  if (!loaded.ok()) {
    std::cerr << progress << "model '" << name << "' failed to load: " << loaded.status().message()
              << std::endl;
    return loaded.status();
  }
  ExportQueueDepths(*loaded);
  std::vector<std::string> versions;
  for (const auto& model : *loaded) versions.push_back(model->version_string);
  std::cerr << progress << "model '" << name << "' ready (version(s) "
            << absl::StrJoin(versions, ", ") << ", " << seconds << " s)" << std::endl;
  // `replaced` goes out of scope here: the versions no longer served retire once the requests
  // holding them are done.
  return absl::OkStatus();
}

absl::Status ModelRepository::UnloadLocked(const std::string& name) {
  std::vector<std::shared_ptr<ServedModel>> replaced;
  {
    absl::MutexLock lock(&mu_);
    auto it = models_.find(name);
    if (it == models_.end() || it->second.versions.empty()) {
      return absl::NotFoundError(
          absl::StrCat("cannot unload model '", name, "': it is not loaded"));
    }
    replaced = std::move(it->second.versions);
    it->second.versions.clear();
    it->second.files.reset();
    it->second.problem = kUnloaded;
  }
  std::cerr << "model '" << name << "' unloaded; its " << replaced.size()
            << " version(s) stop once their requests are done" << std::endl;
  return absl::OkStatus();
}

absl::Status ModelRepository::LoadModel(const std::string& name,
                                        const std::optional<std::string>& config_json) {
  absl::MutexLock lock(&control_mu_);
  if (shut_down_) {
    return absl::UnavailableError(
        absl::StrCat("model '", name, "' cannot be loaded: the server is shutting down"));
  }
  if (!HasDirectory(path_, name)) {
    return absl::NotFoundError(
        absl::StrCat("model '", name, "' has no directory in the model repository '", path_, "'"));
  }
  return LoadLocked(name, config_json, "");
}

absl::Status ModelRepository::UnloadModel(const std::string& name, bool unload_dependents) {
  absl::MutexLock lock(&control_mu_);
  if (absl::Status unloaded = UnloadLocked(name); !unloaded.ok()) return unloaded;
  if (!unload_dependents) return absl::OkStatus();
  std::vector<std::string> dependents;
  {
    absl::ReaderMutexLock models_lock(&mu_);
    for (const auto& [ensemble, entry] : models_) {
      if (!entry.is_ensemble || entry.versions.empty()) continue;
      for (const auto& step : entry.versions.back()->config.ensemble_scheduling().step()) {
        if (step.model_name() == name) {
          dependents.push_back(ensemble);
          break;
        }
      }
    }
  }
  for (const std::string& ensemble : dependents) UnloadLocked(ensemble).IgnoreError();
  return absl::OkStatus();
}

void ModelRepository::Poll() {
  absl::MutexLock lock(&control_mu_);
  if (shut_down_) return;
  std::map<std::string, ModelFiles> found;
  for (const std::string& name : ListModelDirectories(path_)) {
    found[name] = ReadModelFiles(path_, name);
  }
  std::map<std::string, ModelFiles> loaded;
  {
    absl::MutexLock models_lock(&mu_);
    for (const auto& [name, entry] : models_) {
      if (entry.files.has_value()) loaded[name] = *entry.files;
    }
  }
  const RepositoryChanges changes = PlanRepositoryChanges(loaded, found);
  for (const std::string& name : changes.unload) {
    UnloadLocked(name).IgnoreError();
    absl::MutexLock models_lock(&mu_);
    models_.erase(name);
  }
  std::vector<std::string> load = changes.load;
  load.insert(load.end(), changes.reload.begin(), changes.reload.end());
  if (!load.empty()) LoadAllLocked(load);
}

void ModelRepository::ExportQueueDepths(
    const std::vector<std::shared_ptr<ServedModel>>& versions) const {
  if (options_.metrics == nullptr) return;
  for (const std::shared_ptr<ServedModel>& model : versions) {
    if (model->batcher == nullptr) continue;
    // Read through a weak pointer: a version no longer served leaves the exposition.
    options_.metrics->AddQueueDepth(
        model->name, model->version_string,
        [weak = std::weak_ptr<ServedModel>(model)]() -> std::optional<int64_t> {
          std::shared_ptr<ServedModel> live = weak.lock();
          if (live == nullptr) return std::nullopt;
          return live->batcher->QueueDepth();
        });
  }
}

StepConfigLookup ModelRepository::ConfigLookup() const {
  // Called with control_mu_ held, so that what it returns stays loaded while it is validated.
  return [this](const std::string& name,
                const std::string& version) -> absl::StatusOr<const inference::ModelConfig*> {
    absl::StatusOr<std::shared_ptr<const ServedModel>> model = Find(name, version);
    if (!model.ok()) return model.status();
    return &(*model)->config;
  };
}

absl::StatusOr<std::shared_ptr<const ServedModel>> ModelRepository::Find(
    absl::string_view name, absl::string_view version) const {
  std::string problem;
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = models_.find(name);
    if (it != models_.end() && !it->second.versions.empty()) {
      const std::vector<std::shared_ptr<ServedModel>>& versions = it->second.versions;
      if (version.empty()) return std::shared_ptr<const ServedModel>(versions.back());
      std::vector<std::string> loaded;
      for (const auto& model : versions) {
        if (model->version_string == version) return std::shared_ptr<const ServedModel>(model);
        loaded.push_back(model->version_string);
      }
      return absl::NotFoundError(absl::StrCat("model '", name, "' has no version '", version,
                                              "'; loaded versions: [", absl::StrJoin(loaded, ", "),
                                              "]"));
    }
    if (it != models_.end()) problem = it->second.problem;
  }
  if (!problem.empty()) {
    return absl::NotFoundError(absl::StrCat("model '", name, "' is not ready: ", problem));
  }
  if (HasDirectory(path_, std::string(name))) {
    return absl::NotFoundError(absl::StrCat("model '", name, "' is not loaded (model control mode ",
                                            ModelControlModeName(options_.control_mode),
                                            options_.control_mode == ModelControlMode::kExplicit
                                                ? "; load it with RepositoryModelLoad)"
                                                : ")"));
  }
  return absl::NotFoundError(
      absl::StrCat("Request for unknown model: '", name, "' is not in the repository"));
}

std::vector<std::shared_ptr<const ServedModel>> ModelRepository::Versions(
    absl::string_view name) const {
  std::vector<std::shared_ptr<const ServedModel>> result;
  absl::ReaderMutexLock lock(&mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return result;
  result.assign(it->second.versions.begin(), it->second.versions.end());
  return result;
}

std::vector<std::shared_ptr<const ServedModel>> ModelRepository::AllVersions() const {
  std::vector<std::shared_ptr<const ServedModel>> result;
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, entry] : models_) {
    result.insert(result.end(), entry.versions.begin(), entry.versions.end());
  }
  return result;
}

std::vector<ModelState> ModelRepository::Index() const {
  std::vector<std::string> directories = ListModelDirectories(path_);
  std::vector<ModelState> index;
  absl::ReaderMutexLock lock(&mu_);
  auto directory = directories.begin();
  auto add_unlisted_up_to = [&](const std::string* name) {
    for (; directory != directories.end() && (name == nullptr || *directory < *name); ++directory) {
      if (models_.count(*directory) == 0) {
        index.push_back({*directory, "", "UNAVAILABLE",
                         absl::StrCat("not loaded (model control mode ",
                                      ModelControlModeName(options_.control_mode), ")")});
      }
    }
  };
  for (const auto& [name, entry] : models_) {
    add_unlisted_up_to(&name);
    for (const auto& model : entry.versions) {
      index.push_back({name, model->version_string, "READY", ""});
    }
    if (entry.versions.empty() || !entry.problem.empty()) {
      index.push_back({name, "", "UNAVAILABLE", entry.problem});
    }
  }
  add_unlisted_up_to(nullptr);
  return index;
}

bool ModelRepository::AllReady() const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [name, entry] : models_) {
    if (entry.versions.empty() && entry.problem != kUnloaded) return false;
  }
  return true;
}

void ModelRepository::Shutdown() {
  absl::MutexLock control_lock(&control_mu_);
  shut_down_ = true;
  std::vector<std::shared_ptr<ServedModel>> serving;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [name, entry] : models_) {
      serving.insert(serving.end(), entry.versions.begin(), entry.versions.end());
    }
  }
  for (const auto& model : serving) {
    if (model->batcher != nullptr) model->batcher->Shutdown();
  }
}

}  // namespace speech
