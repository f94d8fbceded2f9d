// Loading one model directory: its configuration (from config.pbtxt, or an override a load
// request gave), and each version the version policy selects, with its instances (loaded and
// warmed up) and its batcher; or, for an ensemble, its versions once its steps fit the models
// they name. The repository decides when to load and what to keep; this decides nothing.
#ifndef SPEECH_SERVER_REPOSITORY_MODEL_LOADER_H_
#define SPEECH_SERVER_REPOSITORY_MODEL_LOADER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "batcher/clock.h"
#include "batcher/dynamic_batcher.h"
#include "models/instance_factory.h"
#include "proto/model_config.pb.h"
#include "server/metrics/model/model_metrics_factory.h"
#include "server/metrics/model/model_stats.h"
#include "server/repository/config/ensemble_validation.h"

namespace speech {

// One loaded version of a model, ready for requests. Immutable after loading except for its
// batcher and statistics, which are thread-safe.
struct ServedModel {
  std::string name;
  int64_t version = 0;
  std::string version_string;
  inference::ModelConfig config;  // validated, with defaults filled
  // What requests to this version record; null when the repository was loaded without metrics.
  // Declared before the batcher, whose workers record into it, so that it outlives them.
  std::unique_ptr<ModelStats> stats;
  // The model's batcher; null for an ensemble (platform "ensemble"), whose steps run on their
  // own models' batchers.
  std::unique_ptr<DynamicBatcher> batcher;
  // Input bytes of this version's requests accepted and not yet answered (the inference core
  // keeps it, for its --max-queued-bytes-per-model).
  mutable std::atomic<int64_t> queued_input_bytes{0};
};

// What loading needs; every pointer is borrowed and must outlive what is loaded.
struct LoaderContext {
  InstanceFactory* instances = nullptr;    // required
  Clock* clock = RealClock::Get();         // given to every batcher
  ModelMetricsFactory* metrics = nullptr;  // optional: statistics for each version
  // Turns each loaded version into the shared pointer requests will hold (the repository's
  // deleter retires it off the request threads); a plain shared_ptr when empty.
  std::function<std::shared_ptr<ServedModel>(std::unique_ptr<ServedModel>)> share;
};

// The configuration of the model in directory `model_dir`, validated and with defaults filled.
// With `override_json` (Triton's "config" load parameter: a ModelConfig in protobuf's JSON
// mapping) it replaces config.pbtxt. Every error names the file (or "the config override"), the
// field and the problem.
absl::StatusOr<inference::ModelConfig> ReadValidatedConfig(
    const std::string& model_dir, const std::optional<std::string>& override_json);

// Loads each version of the (LibTorch) model in `model_dir` that `config`'s version policy
// selects, except those `reuse` returns (a version already serving from unchanged files, which is
// taken as it is). Prints each version's measured batch costs to stderr. The status names the
// directory, the version and the problem; on failure nothing loaded survives.
using ReuseVersion = std::function<std::shared_ptr<ServedModel>(int64_t version)>;
absl::StatusOr<std::vector<std::shared_ptr<ServedModel>>> LoadModelVersions(
    const std::string& model_dir, const inference::ModelConfig& config,
    const LoaderContext& context, const ReuseVersion& reuse);

// The versions of the ensemble in `model_dir`, once `lookup` (the models serving now) shows that
// its steps fit their models.
absl::StatusOr<std::vector<std::shared_ptr<ServedModel>>> LoadEnsembleVersions(
    const std::string& model_dir, const inference::ModelConfig& config,
    const LoaderContext& context, const StepConfigLookup& lookup);

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_MODEL_LOADER_H_
