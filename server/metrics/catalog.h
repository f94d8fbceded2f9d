// Every metric the server exports, named and described in one place (Triton's names where Triton
// has the metric). Components receive only the ModelStats of their model, never the registry.
#ifndef SPEECH_SERVER_METRICS_CATALOG_H_
#define SPEECH_SERVER_METRICS_CATALOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/metrics/model/model_metrics_factory.h"
#include "server/metrics/model/model_stats.h"
#include "server/metrics/nvml_reader.h"
#include "server/metrics/store/registry.h"

namespace speech {

// Thread-safe. AddModel and AddQueueDepth take mutexes (load time only); Expose may run on any
// thread at any time. Owns the registry; the ModelStats it makes borrow from it, so the catalog
// must outlive them.
class MetricsCatalog final : public ModelMetricsFactory {
 public:
  struct Options {
    // Export nv_gpu_* per GPU that NVML reports. Off, or when NVML cannot be loaded (no driver,
    // CPU-only host), there are no GPU series.
    bool gpu_metrics = true;
  };

  static absl::StatusOr<std::unique_ptr<MetricsCatalog>> Create(Options options);

  // Upper bounds of the phase histograms, in nanoseconds: 100 us to 10 s.
  static std::vector<int64_t> DurationBucketsNs();
  // Upper bounds of the batch-size histogram, in rows.
  static std::vector<int64_t> BatchSizeBuckets();
  // Upper bounds of the padding-ratio histogram, in thousandths.
  static std::vector<int64_t> PaddingRatioBucketsPermille();

  // Makes the series of model `name` at `version` and the stats that record into them. Calling it
  // again for the same model and version gives stats sharing the same series.
  std::unique_ptr<ModelStats> AddModel(const std::string& name, const std::string& version,
                                       int64_t max_batch_size) override;

  // Exports `depth` (read at each exposition) as the model's nv_inference_pending_request_count.
  // Whatever `depth` reads must outlive every later Expose call.
  void AddQueueDepth(const std::string& name, const std::string& version,
                     std::function<std::optional<int64_t>()> depth) override;

  // The Prometheus text exposition of every series.
  std::string Expose() const { return registry_.Expose(); }

  // GPUs exported (0 without NVML).
  int gpu_count() const { return nvml_ == nullptr ? 0 : nvml_->device_count(); }

 private:
  MetricsCatalog() = default;
  absl::Status Define();
  void AddGpus();

  MetricRegistry registry_;
  std::unique_ptr<NvmlReader> nvml_;
  // Families, constant after Create.
  CounterFamily* success_ = nullptr;
  CounterFamily* failure_ = nullptr;
  CounterFamily* inference_count_ = nullptr;
  CounterFamily* execution_count_ = nullptr;
  GaugeFamily* pending_ = nullptr;
  CounterFamily* request_us_ = nullptr;
  CounterFamily* queue_us_ = nullptr;
  CounterFamily* compute_input_us_ = nullptr;
  CounterFamily* compute_infer_us_ = nullptr;
  CounterFamily* compute_output_us_ = nullptr;
  HistogramFamily* request_seconds_ = nullptr;
  HistogramFamily* queue_seconds_ = nullptr;
  HistogramFamily* compute_input_seconds_ = nullptr;
  HistogramFamily* compute_infer_seconds_ = nullptr;
  HistogramFamily* compute_output_seconds_ = nullptr;
  HistogramFamily* batch_size_ = nullptr;
  HistogramFamily* padding_ratio_ = nullptr;
  GaugeFamily* gpu_utilization_ = nullptr;
  GaugeFamily* gpu_memory_total_ = nullptr;
  GaugeFamily* gpu_memory_used_ = nullptr;
};

}  // namespace speech

#endif  // SPEECH_SERVER_METRICS_CATALOG_H_
