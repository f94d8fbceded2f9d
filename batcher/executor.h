// The batcher's view of one model instance: something that runs a batch of requests.
#ifndef SPEECH_BATCHER_EXECUTOR_H_
#define SPEECH_BATCHER_EXECUTOR_H_

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "batcher/request.h"

namespace speech {

// Not thread-safe: each executor is driven by exactly one thread (its instance's worker).
class BatchExecutor {
 public:
  virtual ~BatchExecutor() = default;

  // Runs `batch` as one computation: fills every request's `outputs` with its own rows, its
  // compute_* phase times and `executed_batch_rows`. A non-OK status means no request in the
  // batch got outputs; the caller fails them all with it. Never completes requests itself.
  // REQUIRES: batch is not empty; the requests' total rows fit the model's maximum batch size.
  virtual absl::Status Execute(absl::Span<InferenceRequest* const> batch) = 0;
};

}  // namespace speech

#endif  // SPEECH_BATCHER_EXECUTOR_H_
