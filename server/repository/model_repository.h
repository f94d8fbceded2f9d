// The models this server serves: read once from a Triton-layout repository
// (<repo>/<model>/config.pbtxt, <repo>/<model>/<version>/model.pt) at start-up.
#ifndef SPEECH_SERVER_REPOSITORY_MODEL_REPOSITORY_H_
#define SPEECH_SERVER_REPOSITORY_MODEL_REPOSITORY_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "batcher/clock.h"
#include "batcher/dynamic_batcher.h"
#include "models/instance_factory.h"
#include "proto/model_config.pb.h"
#include "server/metrics/model_metrics_factory.h"
#include "server/metrics/model_stats.h"

namespace speech {

// One loaded version of a model, ready for requests. Immutable after loading except for its
// batcher, which is thread-safe.
struct ServedModel {
  std::string name;
  int64_t version = 0;
  std::string version_string;
  inference::ModelConfig config;  // validated, with defaults filled
  // What requests to this version record; null when the repository was loaded without metrics.
  // Declared before the batcher, whose workers record into it, so that it outlives them.
  std::unique_ptr<ModelStats> stats;
  std::unique_ptr<DynamicBatcher> batcher;
};

// A model directory's outcome, as RepositoryIndex reports it.
struct ModelState {
  std::string name;
  std::string version;  // empty when no version loaded
  std::string state;    // "READY" or "UNAVAILABLE"
  std::string reason;   // why it is unavailable
};

// Thread-safe for lookups after Load returns; Shutdown must not race with Load.
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
  };

  // Loads every model directory under `path`. A model whose configuration or files are wrong is
  // recorded as UNAVAILABLE with a reason naming the file, field and problem, and the others
  // still load; only a `path` that is not a readable directory (or options without an instance
  // factory) fails the whole call. Prints one progress line per model to stderr.
  static absl::StatusOr<std::unique_ptr<ModelRepository>> Load(const std::string& path,
                                                               Options options);

  ~ModelRepository();

  // The model `name` at `version` (a decimal string; empty for the newest loaded version).
  // NOT_FOUND, naming the model and what is available, when there is no such ready model.
  absl::StatusOr<ServedModel*> Find(absl::string_view name, absl::string_view version) const;

  // Every loaded version of `name`, oldest first; empty when none.
  std::vector<const ServedModel*> Versions(absl::string_view name) const;

  // Every loaded version of every model, by name and then version.
  std::vector<const ServedModel*> AllVersions() const;

  // Every model directory found, in name order.
  const std::vector<ModelState>& Index() const { return index_; }

  // True when every model directory loaded.
  bool AllReady() const;

  // Stops every batcher: refuses new requests, finishes accepted ones, joins threads.
  void Shutdown();

 private:
  ModelRepository() = default;

  // Constant after Load.
  absl::flat_hash_map<std::string, std::vector<std::unique_ptr<ServedModel>>> models_;
  std::vector<ModelState> index_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_MODEL_REPOSITORY_H_
