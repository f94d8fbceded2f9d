// A BatchExecutor that runs another and records each successful execution in a model's stats:
// the one place that sees every batch exactly once, so execution counts, the batch-size histogram
// and per batch size compute times are exact without help from the batcher.
#ifndef SPEECH_SERVER_METRICS_MODEL_MODEL_STATS_EXECUTOR_H_
#define SPEECH_SERVER_METRICS_MODEL_MODEL_STATS_EXECUTOR_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "batcher/executor.h"
#include "batcher/request.h"
#include "server/metrics/model/model_stats.h"

namespace speech {

// Not thread-safe, as any BatchExecutor (driven by one worker thread). Owns the wrapped executor;
// borrows `stats`, which must outlive it.
class ModelStatsExecutor final : public BatchExecutor {
 public:
  ModelStatsExecutor(std::unique_ptr<BatchExecutor> executor, ModelStats* stats)
      : executor_(std::move(executor)), stats_(stats) {}

  // Runs the batch; when it succeeds, records one execution of its total rows. A failed batch is
  // not an execution (as in Triton); its requests are counted as BACKEND failures on completion.
  absl::Status Execute(absl::Span<InferenceRequest* const> batch) override {
    absl::Status status = executor_->Execute(batch);
    if (status.ok()) stats_->RecordExecution(batch);
    return status;
  }

 private:
  const std::unique_ptr<BatchExecutor> executor_;
  ModelStats* const stats_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_METRICS_MODEL_MODEL_STATS_EXECUTOR_H_
