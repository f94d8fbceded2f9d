// The models this server serves, from a Triton-layout repository
// (<repo>/<model>/config.pbtxt, <repo>/<model>/<version>/model.pt), and Triton's model control:
// in mode "none" every model directory is loaded once at start-up; in mode "poll" Poll() (called
// every --repository-poll-secs) loads directories that appeared or changed and unloads those
// that went away; in mode "explicit" the start-up set is named and LoadModel / UnloadModel change
// it. A model is replaced without failing a request: the new versions load and warm up while the
// old ones serve, the switch is one atomic step, and an old version is stopped and freed only
// when the last request holding it is done.
#ifndef SPEECH_SERVER_REPOSITORY_MODEL_REPOSITORY_H_
#define SPEECH_SERVER_REPOSITORY_MODEL_REPOSITORY_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "batcher/clock.h"
#include "models/instance_factory.h"
#include "server/metrics/model/model_metrics_factory.h"
#include "server/repository/model_files.h"
#include "server/repository/model_loader.h"
#include "server/repository/retired_models.h"

namespace speech {

// A model directory's outcome, as RepositoryIndex reports it.
struct ModelState {
  std::string name;
  std::string version;  // empty when no version loaded
  std::string state;    // "READY" or "UNAVAILABLE"
  std::string reason;   // why it is unavailable
};

// Triton's --model-control-mode.
enum class ModelControlMode { kNone, kPoll, kExplicit };

// "none", "poll" or "explicit".
absl::string_view ModelControlModeName(ModelControlMode mode);

// Thread-safe. Lookups never wait for a load; loads, unloads and polls run one at a time.
class ModelRepository {
 public:
  struct Options {
    // Loads each instance (the LibTorch backend in the server, a fake in tests). Required; must
    // outlive the repository.
    InstanceFactory* instances = nullptr;
    // Given to every batcher (queue delays, timeouts, arrival stamps) and times the loading.
    // Must outlive the repository.
    Clock* clock = RealClock::Get();
    // Optional. With it, each version gets its ModelStats, its instances record every execution
    // into them, and its queue depth is exported; it must outlive the repository, and the
    // repository every exposition of its metrics.
    ModelMetricsFactory* metrics = nullptr;
    // Which calls may change the served models after start-up (see the file comment).
    ModelControlMode control_mode = ModelControlMode::kNone;
    // Mode explicit only: the models loaded at start-up (Triton's --load-model); "*" loads all.
    // Empty: none. Other modes load every directory.
    std::vector<std::string> startup_models;
  };

  // Loads the start-up models under `path`, the ensembles after the models they run. A model
  // whose configuration or files are wrong (an ensemble: also whose steps do not fit their
  // models) is recorded as UNAVAILABLE with a reason naming the file, field and problem, and the
  // others still load; only a `path` that is not a readable directory (or options without an
  // instance factory, or a start-up model of mode explicit that has no directory) fails the
  // whole call. Prints one progress line per model to stderr.
  static absl::StatusOr<std::unique_ptr<ModelRepository>> Load(const std::string& path,
                                                               Options options);

  // Shutdown(), then frees every version.
  ~ModelRepository();

  // The model `name` at `version` (a decimal string; empty for the newest loaded version), held
  // for as long as the caller keeps the pointer. NOT_FOUND, naming the model and what is
  // available, when there is no such ready model.
  absl::StatusOr<std::shared_ptr<const ServedModel>> Find(absl::string_view name,
                                                          absl::string_view version) const;

  // Every loaded version of `name`, oldest first; empty when none.
  std::vector<std::shared_ptr<const ServedModel>> Versions(absl::string_view name) const;

  // Every loaded version of every model, by name and then version.
  std::vector<std::shared_ptr<const ServedModel>> AllVersions() const;

  // Every model directory and every model served, in name order: a READY row per serving
  // version, and an UNAVAILABLE row with the reason for a model whose last load failed (beside
  // its rows of the versions still serving), that was unloaded, or (mode explicit) that was
  // never loaded.
  std::vector<ModelState> Index() const;

  // True when every model that should serve does: no load (at start-up or since) left a model
  // without a serving version. Models unloaded or never asked for do not count.
  bool AllReady() const;

  ModelControlMode control_mode() const { return options_.control_mode; }

  // Loads model `name` from its directory, or replaces it with what its directory holds now
  // (versions whose files did not change keep serving as they are). With `config_json`, that
  // configuration (Triton's "config" load parameter) replaces config.pbtxt. An ensemble's step
  // models that are not loaded are loaded first. On failure the versions serving keep serving
  // and Index reports the reason. NOT_FOUND for a name without a directory; the load's error
  // (naming file, field, version) otherwise; UNAVAILABLE after Shutdown. Any control mode (the
  // request core refuses the RPCs outside mode explicit).
  absl::Status LoadModel(const std::string& name,
                         const std::optional<std::string>& config_json = std::nullopt);

  // Stops serving `name` (and, with `unload_dependents`, every ensemble that runs it): new
  // requests get NOT_FOUND at once; requests already holding a version finish, after which it
  // is stopped and freed. NOT_FOUND when nothing of that name is served.
  absl::Status UnloadModel(const std::string& name, bool unload_dependents = false);

  // Mode poll's step: re-reads every model directory and loads those that appeared, reloads
  // those whose files changed (as LoadModel) and unloads those that went away. A change whose
  // load fails is not retried until the files change again.
  void Poll();

  // Stops every batcher: refuses new requests, finishes accepted ones, joins threads. Later
  // loads fail; lookups still answer. Idempotent.
  void Shutdown();

  // Blocks until every version no longer served has been stopped and freed (tests).
  void WaitForRetiredVersions() { retired_->WaitUntilIdle(); }

 private:
  // What the repository knows of one model name.
  struct Entry {
    // The versions serving, oldest first; replaced as a whole, never edited in place.
    std::vector<std::shared_ptr<ServedModel>> versions;
    // What the versions (or the last attempt) were loaded from.
    std::optional<ModelFiles> files;
    // Why the last load failed, or why nothing serves ("unloaded"); empty when it serves as asked.
    std::string problem;
    bool is_ensemble = false;
  };

  ModelRepository(std::string path, Options options);

  // Loads (or reloads) `name` from its directory. REQUIRES: control_mu_ held. `progress` is the
  // "[i/n] " prefix of its log line.
  absl::Status LoadLocked(const std::string& name, const std::optional<std::string>& config_json,
                          const std::string& progress) ABSL_EXCLUSIVE_LOCKS_REQUIRED(control_mu_);
  absl::Status UnloadLocked(const std::string& name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(control_mu_);
  // Loads every name in `names`, models before ensembles, with progress lines.
  void LoadAllLocked(const std::vector<std::string>& names)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(control_mu_);
  // Registers the queue depth of each version in `versions` with the metrics.
  void ExportQueueDepths(const std::vector<std::shared_ptr<ServedModel>>& versions) const;
  // The configuration serving as `name` at `version`, for ensemble validation.
  StepConfigLookup ConfigLookup() const;

  // Constant after construction.
  const std::string path_;
  const Options options_;
  LoaderContext loader_;
  const std::shared_ptr<RetiredModels> retired_;

  // Serialises loads, unloads, polls and shutdown; held while models load (lookups do not take it).
  absl::Mutex control_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  bool shut_down_ ABSL_GUARDED_BY(control_mu_) = false;

  mutable absl::Mutex mu_;
  std::map<std::string, Entry, std::less<>> models_ ABSL_GUARDED_BY(mu_);
};

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_MODEL_REPOSITORY_H_
