// The few metrics the model repository needs for each model version it loads: the statistics
// its requests and executions record into, and the export of its queue depth. MetricsCatalog
// implements it; the repository never sees the registry.
#ifndef SPEECH_SERVER_METRICS_MODEL_MODEL_METRICS_FACTORY_H_
#define SPEECH_SERVER_METRICS_MODEL_MODEL_METRICS_FACTORY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "server/metrics/model/model_stats.h"

namespace speech {

// Implementations are thread-safe; both calls happen at load time, never per request.
class ModelMetricsFactory {
 public:
  virtual ~ModelMetricsFactory() = default;

  // The statistics of model `name` at `version`. Calling it again for the same model and version
  // gives stats sharing the same exported series. The factory must outlive the stats.
  virtual std::unique_ptr<ModelStats> AddModel(const std::string& name, const std::string& version,
                                               int64_t max_batch_size) = 0;

  // Exports `depth` (read whenever metrics are exposed) as the version's pending-request count;
  // a reading of nullopt (a version no longer served) leaves the sample out. Calling it again for
  // the same model and version replaces the reader. Whatever `depth` reads must outlive the
  // factory's last exposition.
  virtual void AddQueueDepth(const std::string& name, const std::string& version,
                             std::function<std::optional<int64_t>()> depth) = 0;
};

}  // namespace speech

#endif  // SPEECH_SERVER_METRICS_MODEL_MODEL_METRICS_FACTORY_H_
