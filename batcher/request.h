// One inference request on its way from a network handler, through a model's batcher, to a model
// instance and back. A plain data carrier: whoever holds the unique_ptr may touch it.
#ifndef SPEECH_BATCHER_REQUEST_H_
#define SPEECH_BATCHER_REQUEST_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "batcher/tensor.h"

namespace speech {

// When each phase of a request began and ended. Stamped by the batcher (arrival, dispatch) and by
// the model instance (compute phases); read by the server for metrics and statistics.
struct PhaseTimes {
  absl::Time arrival = absl::InfinitePast();   // handed to the batcher
  absl::Time dispatch = absl::InfinitePast();  // left the queue in a batch
  absl::Time compute_input_start = absl::InfinitePast();
  absl::Time compute_input_end = absl::InfinitePast();
  absl::Time compute_infer_start = absl::InfinitePast();
  absl::Time compute_infer_end = absl::InfinitePast();
  absl::Time compute_output_start = absl::InfinitePast();
  absl::Time compute_output_end = absl::InfinitePast();
};

struct InferenceRequest {
  // Receives the request back with its outcome. Called exactly once, on whatever thread finished
  // the request (a handler thread for an immediate rejection, an instance thread otherwise).
  using Completion = std::function<void(std::unique_ptr<InferenceRequest>, absl::Status)>;

  std::string id;  // the client's request id, echoed in the reply

  // Validated inputs, in the model configuration's input order. When the model batches, every
  // shape starts with the batch dimension, equal to `batch_rows` for all inputs.
  std::vector<InputTensor> inputs;
  int64_t batch_rows = 1;
  // Bytes some inputs point into when they could not borrow the network message's (converted
  // typed contents, generated warm-up data). A deque, so that adding one never moves the others.
  std::deque<std::string> owned_data;

  // Filled by the model instance, in the model configuration's output order, each with this
  // request's own rows only.
  std::vector<OutputTensor> outputs;

  PhaseTimes times;
  // Rows of the batch this request was computed in (its own and its companions').
  int64_t executed_batch_rows = 0;
  // Of that batch's padded inputs (variable-length batching): the elements holding data and all
  // elements, padding included. Both 0 when the model pads nothing.
  int64_t executed_real_elements = 0;
  int64_t executed_padded_elements = 0;

  // The client's deadline: a request still queued when it passes is dropped uncomputed.
  absl::Time deadline = absl::InfiniteFuture();
  // The request's own queue timeout (Triton's "timeout" parameter), honoured only when the
  // model's queue policy allows overrides; infinite when the client gave none.
  absl::Duration timeout_override = absl::InfiniteDuration();
  // True once the client has cancelled the call; may be empty (never cancelled). Thread-safe.
  std::function<bool()> is_cancelled;

  Completion on_complete;
};

// Finishes `request` with `status`: hands it to its completion. REQUIRES: request != nullptr.
inline void CompleteRequest(std::unique_ptr<InferenceRequest> request, absl::Status status) {
  InferenceRequest::Completion done = std::move(request->on_complete);
  done(std::move(request), std::move(status));
}

}  // namespace speech

#endif  // SPEECH_BATCHER_REQUEST_H_
