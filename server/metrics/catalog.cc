#include "server/metrics/catalog.h"

#include <algorithm>
#include <utility>

namespace speech {
namespace {

const std::vector<std::string> kModelLabels = {"model", "version"};

}  // namespace

// Assigns the family a registry call made, or returns its error.
#define SPEECH_ASSIGN_FAMILY(target, expression) \
  do {                                           \
    auto family = (expression);                  \
    if (!family.ok()) return family.status();    \
    target = *family;                            \
  } while (false)

std::vector<int64_t> MetricsCatalog::DurationBucketsNs() {
  std::vector<int64_t> bounds;
  for (int64_t decade = 100'000; decade <= 1'000'000'000; decade *= 10) {
    bounds.push_back(decade);
    bounds.push_back(decade * 5 / 2);
    bounds.push_back(decade * 5);
  }
  bounds.push_back(10'000'000'000);  // 100 us, 250 us, 500 us, 1 ms, ..., 5 s, 10 s
  return bounds;
}

std::vector<int64_t> MetricsCatalog::BatchSizeBuckets() {
  return {1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 512, 1024};
}

std::vector<int64_t> MetricsCatalog::PaddingRatioBucketsPermille() {
  return {0, 10, 25, 50, 100, 250, 500, 1000, 2000, 4000};
}

absl::StatusOr<std::unique_ptr<MetricsCatalog>> MetricsCatalog::Create(Options options) {
  std::unique_ptr<MetricsCatalog> catalog(new MetricsCatalog());
  if (absl::Status status = catalog->Define(); !status.ok()) return status;
  if (options.gpu_metrics) catalog->AddGpus();
  return catalog;
}

absl::Status MetricsCatalog::Define() {
  MetricRegistry& r = registry_;
  SPEECH_ASSIGN_FAMILY(success_, r.AddCounter("nv_inference_request_success",
                                              "Number of successful inference requests, all "
                                              "batch sizes",
                                              kModelLabels));
  SPEECH_ASSIGN_FAMILY(failure_, r.AddCounter("nv_inference_request_failure",
                                              "Number of failed inference requests, all batch "
                                              "sizes, by reason (REJECTED, CANCELED, BACKEND, "
                                              "OTHER)",
                                              {"model", "version", "reason"}));
  SPEECH_ASSIGN_FAMILY(inference_count_,
                       r.AddCounter("nv_inference_count",
                                    "Number of inferences performed (batch rows of successful "
                                    "requests)",
                                    kModelLabels));
  SPEECH_ASSIGN_FAMILY(
      execution_count_,
      r.AddCounter("nv_inference_exec_count",
                   "Number of model executions performed (successful batches)", kModelLabels));
  SPEECH_ASSIGN_FAMILY(pending_, r.AddGauge("nv_inference_pending_request_count",
                                            "Instantaneous number of requests queued in the "
                                            "model's batcher, awaiting execution",
                                            kModelLabels));
  SPEECH_ASSIGN_FAMILY(request_us_, r.AddCounter("nv_inference_request_duration_us",
                                                 "Cumulative duration of successful inference "
                                                 "requests, arrival to reply, in microseconds",
                                                 kModelLabels, 1000));
  SPEECH_ASSIGN_FAMILY(queue_us_, r.AddCounter("nv_inference_queue_duration_us",
                                               "Cumulative time successful requests waited in "
                                               "the queue, in microseconds",
                                               kModelLabels, 1000));
  SPEECH_ASSIGN_FAMILY(compute_input_us_,
                       r.AddCounter("nv_inference_compute_input_duration_us",
                                    "Cumulative compute input duration of successful requests, "
                                    "in microseconds",
                                    kModelLabels, 1000));
  SPEECH_ASSIGN_FAMILY(compute_infer_us_,
                       r.AddCounter("nv_inference_compute_infer_duration_us",
                                    "Cumulative compute inference duration of successful "
                                    "requests, in microseconds",
                                    kModelLabels, 1000));
  SPEECH_ASSIGN_FAMILY(compute_output_us_,
                       r.AddCounter("nv_inference_compute_output_duration_us",
                                    "Cumulative compute output duration of successful requests, "
                                    "in microseconds",
                                    kModelLabels, 1000));

  auto seconds = HistogramBuckets::Create(DurationBucketsNs(), 1e9);
  if (!seconds.ok()) return seconds.status();
  auto rows = HistogramBuckets::Create(BatchSizeBuckets(), 1);
  if (!rows.ok()) return rows.status();
  auto permille = HistogramBuckets::Create(PaddingRatioBucketsPermille(), 1000);
  if (!permille.ok()) return permille.status();
  SPEECH_ASSIGN_FAMILY(
      request_seconds_,
      r.AddHistogram("speech_request_duration_seconds",
                     "Duration of successful requests, arrival to reply", kModelLabels, *seconds));
  SPEECH_ASSIGN_FAMILY(
      queue_seconds_,
      r.AddHistogram("speech_queue_duration_seconds",
                     "Time successful requests waited in the queue", kModelLabels, *seconds));
  SPEECH_ASSIGN_FAMILY(compute_input_seconds_,
                       r.AddHistogram("speech_compute_input_duration_seconds",
                                      "Compute input time (gather and copy to the device) of "
                                      "successful requests",
                                      kModelLabels, *seconds));
  SPEECH_ASSIGN_FAMILY(
      compute_infer_seconds_,
      r.AddHistogram("speech_compute_infer_duration_seconds",
                     "Compute inference time of successful requests", kModelLabels, *seconds));
  SPEECH_ASSIGN_FAMILY(compute_output_seconds_,
                       r.AddHistogram("speech_compute_output_duration_seconds",
                                      "Compute output time (copy back and split) of successful "
                                      "requests",
                                      kModelLabels, *seconds));
  SPEECH_ASSIGN_FAMILY(batch_size_,
                       r.AddHistogram("speech_batch_size",
                                      "Rows of each successful model execution (batches formed)",
                                      kModelLabels, *rows));
  SPEECH_ASSIGN_FAMILY(padding_ratio_,
                       r.AddHistogram("speech_batch_padding_ratio",
                                      "Padding of each successful execution of a model with padded "
                                      "inputs: padded elements over real elements",
                                      kModelLabels, *permille));

  SPEECH_ASSIGN_FAMILY(
      gpu_utilization_,
      r.AddGauge("nv_gpu_utilization", "GPU utilization rate [0.0 - 1.0]", {"gpu_uuid"}));
  SPEECH_ASSIGN_FAMILY(gpu_memory_total_, r.AddGauge("nv_gpu_memory_total_bytes",
                                                     "GPU total memory, in bytes", {"gpu_uuid"}));
  SPEECH_ASSIGN_FAMILY(gpu_memory_used_, r.AddGauge("nv_gpu_memory_used_bytes",
                                                    "GPU used memory, in bytes", {"gpu_uuid"}));
  return absl::OkStatus();
}

#undef SPEECH_ASSIGN_FAMILY

void MetricsCatalog::AddGpus() {
  nvml_ = NvmlReader::Open();
  if (nvml_ == nullptr) return;
  const NvmlReader* nvml = nvml_.get();
  for (int i = 0; i < nvml->device_count(); ++i) {
    // Three NVML reads per GPU per scrape: cheap next to a scrape interval, and never on the
    // request path.
    gpu_utilization_->Add({nvml->uuid(i)}, [nvml, i]() -> std::optional<double> {
      std::optional<GpuReading> reading = nvml->Read(i);
      if (!reading.has_value()) return std::nullopt;
      return reading->utilization;
    });
    gpu_memory_total_->Add({nvml->uuid(i)}, [nvml, i]() -> std::optional<double> {
      std::optional<GpuReading> reading = nvml->Read(i);
      if (!reading.has_value()) return std::nullopt;
      return static_cast<double>(reading->memory_total_bytes);
    });
    gpu_memory_used_->Add({nvml->uuid(i)}, [nvml, i]() -> std::optional<double> {
      std::optional<GpuReading> reading = nvml->Read(i);
      if (!reading.has_value()) return std::nullopt;
      return static_cast<double>(reading->memory_used_bytes);
    });
  }
}

std::unique_ptr<ModelStats> MetricsCatalog::AddModel(const std::string& name,
                                                     const std::string& version,
                                                     int64_t max_batch_size) {
  const std::vector<std::string> labels = {name, version};
  ModelSeries series;
  for (int reason = 0; reason < kFailureReasonCount; ++reason) {
    series.failure[reason] = failure_->Add(
        {name, version, std::string(FailureReasonName(static_cast<FailureReason>(reason)))});
  }
  series.inference_count = inference_count_->Add(labels);
  series.request_duration_ns = request_seconds_->Add(labels);
  series.queue_duration_ns = queue_seconds_->Add(labels);
  series.compute_input_duration_ns = compute_input_seconds_->Add(labels);
  series.compute_infer_duration_ns = compute_infer_seconds_->Add(labels);
  series.compute_output_duration_ns = compute_output_seconds_->Add(labels);
  series.batch_size_rows = batch_size_->Add(labels);
  series.padding_ratio_permille = padding_ratio_->Add(labels);
  // Triton's counters, read from the histograms at scrape time (a model loaded again gets the same
  // histograms back, so its counts carry on, as Triton's do).
  const Histogram* request = series.request_duration_ns;
  success_->AddDerived(labels, [request] { return request->Count(); });
  const Histogram* batches = series.batch_size_rows;
  execution_count_->AddDerived(labels, [batches] { return batches->Count(); });
  const std::pair<CounterFamily*, const Histogram*> totals[] = {
      {request_us_, series.request_duration_ns},
      {queue_us_, series.queue_duration_ns},
      {compute_input_us_, series.compute_input_duration_ns},
      {compute_infer_us_, series.compute_infer_duration_ns},
      {compute_output_us_, series.compute_output_duration_ns}};
  for (const auto& [family, histogram] : totals) {
    family->AddDerived(labels, [histogram = histogram] {
      return static_cast<uint64_t>(std::max<int64_t>(histogram->Sum(), 0));
    });
  }
  return std::make_unique<ModelStats>(name, version, max_batch_size, series);
}

void MetricsCatalog::AddQueueDepth(const std::string& name, const std::string& version,
                                   std::function<std::optional<int64_t>()> depth) {
  pending_->Add({name, version}, [depth = std::move(depth)]() -> std::optional<double> {
    const std::optional<int64_t> value = depth();
    if (!value.has_value()) return std::nullopt;
    return static_cast<double>(*value);
  });
}

}  // namespace speech
