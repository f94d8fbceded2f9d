// What the server records about one model version: Triton's counters and our phase histograms
// (exported on /metrics) plus what only the ModelStatistics RPC reports (failure time, last
// inference, per batch size compute times). /metrics and ModelStatistics read the same
// histograms and counters.
#ifndef SPEECH_SERVER_METRICS_MODEL_MODEL_STATS_H_
#define SPEECH_SERVER_METRICS_MODEL_MODEL_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "batcher/request.h"
#include "proto/grpc_service.pb.h"
#include "server/metrics/store/primitives.h"

namespace speech {

// Triton's `reason` label of nv_inference_request_failure.
enum class FailureReason {
  kRejected = 0,  // refused by a full or stopping queue (UNAVAILABLE)
  kCanceled = 1,  // cancelled, or its deadline or queue timeout passed, while queued
  kBackend = 2,   // the model execution failed
  kOther = 3,     // anything else, e.g. invalid input for a known model
};
inline constexpr int kFailureReasonCount = 4;

// "REJECTED", "CANCELED", "BACKEND" or "OTHER".
absl::string_view FailureReasonName(FailureReason reason);

// Why a request failed with `status`: every request that left the queue in a batch (`dispatched`)
// failed in its model; the others by their status code.
FailureReason ClassifyFailure(const absl::Status& status, bool dispatched);

// The exported series of one model version (see MetricsCatalog::AddModel). Not owned; all set
// unless noted. Triton's success count, execution count and cumulative durations are not here:
// they are the counts and sums of the histograms, which the exposition reads (derived counters),
// so that each request adds to each number once.
struct ModelSeries {
  std::array<Counter*, kFailureReasonCount> failure{};  // by FailureReason
  Counter* inference_count = nullptr;                   // rows of successful requests
  // Nanoseconds per successful request (exposed in seconds). The request histogram's count is
  // nv_inference_request_success; each one's sum is its nv_..._duration_us.
  Histogram* request_duration_ns = nullptr;
  Histogram* queue_duration_ns = nullptr;
  Histogram* compute_input_duration_ns = nullptr;
  Histogram* compute_infer_duration_ns = nullptr;
  Histogram* compute_output_duration_ns = nullptr;
  // Rows per successful model execution; its count is nv_inference_exec_count.
  Histogram* batch_size_rows = nullptr;
  // Per successful execution with padded inputs: padded elements over real ones, in thousandths.
  // May be null (no such series: the model pads nothing, or a test does without).
  Histogram* padding_ratio_permille = nullptr;
};

// Thread-safe and lock-free: every Record* call is a handful of relaxed atomic adds on the
// calling thread's shards of objects made at load time. Borrows the series (owned by the metric
// registry, which must outlive it).
class ModelStats {
 public:
  // `max_batch_size` bounds the batch sizes tracked one by one (0, a model that does not batch,
  // tracks size 1); a larger executed size is counted as the largest.
  ModelStats(std::string name, std::string version, int64_t max_batch_size, ModelSeries series);
  ModelStats(const ModelStats&) = delete;
  ModelStats& operator=(const ModelStats&) = delete;

  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }

  // Records a request's outcome. `start` is when its handler began, `end` when its reply was
  // ready. A successful request must carry every phase time.
  void RecordCompletion(const InferenceRequest& request, const absl::Status& status,
                        absl::Time start, absl::Time end);
  void RecordFailure(FailureReason reason, absl::Time start, absl::Time end);

  // Records one successful model execution of `batch` (called once per batch, by the executor
  // that ran it, so that counts are exact). REQUIRES: batch is not empty and its phase times set.
  void RecordExecution(absl::Span<InferenceRequest* const> batch);

  // Fills name, version, last_inference, inference_count, execution_count, inference_stats and
  // batch_stats (sizes that ran at least once, ascending).
  void Fill(inference::ModelStatistics* out) const;

 private:
  // Cells per tracked batch size in batch_sizes_: executions, then input, infer and output ns.
  static constexpr size_t kBatchSizeCells = 4;

  void RecordSuccess(const InferenceRequest& request, absl::Time start, absl::Time end);
  void MarkLastInference(absl::Time end);

  // Constant after construction.
  const std::string name_;
  const std::string version_;
  const ModelSeries series_;
  const int64_t max_tracked_batch_size_;
  // kBatchSizeCells per size from 0 (unused) to max_tracked; sharded as the series are, since
  // every instance of the model adds to it once per batch.
  ShardedCells batch_sizes_;

  std::atomic<uint64_t> failure_ns_{0};
  std::atomic<int64_t> last_inference_ms_{0};
};

}  // namespace speech

#endif  // SPEECH_SERVER_METRICS_MODEL_MODEL_STATS_H_
