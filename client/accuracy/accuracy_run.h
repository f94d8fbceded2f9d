// The accuracy checker's load: every request of a data set sent `repeat` times from
// `concurrency` threads at once (so that the server batches requests of different lengths
// together), each reply compared, output by output, with the request's reference outputs.
#ifndef SPEECH_CLIENT_ACCURACY_ACCURACY_RUN_H_
#define SPEECH_CLIENT_ACCURACY_ACCURACY_RUN_H_

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "client/accuracy/compare/accuracy_metrics.h"
#include "client/accuracy/compare/tensor_compare.h"
#include "client/accuracy/progress_log.h"
#include "client/tensor_util.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// Sends one request and waits for its reply. Must be thread-safe: the run calls it from all of
// its threads at once.
using InferFunction = std::function<absl::StatusOr<inference::ModelInferResponse>(
    const inference::ModelInferRequest&)>;

// A plain value type.
struct AccuracyRunOptions {
  // Requests in flight at once, each from its own thread. Must be positive.
  int concurrency = 16;
  // Times each request is sent. Must be positive.
  int repeat = 1;
};

// The inputs `request` carries as host tensors (its raw_input_contents), in its order.
// INVALID_ARGUMENT when it does not carry one raw content per input.
absl::StatusOr<std::vector<HostTensor>> RequestInputs(const inference::ModelInferRequest& request);

// One comparison per tensor of `reference`, in its order, with the tensor of the same name in
// `reply` (MissingOutput when there is none). Outputs only the reply has are ignored.
std::vector<TensorComparison> CompareReply(absl::Span<const HostTensor> reply,
                                           absl::Span<const HostTensor> reference);

// Sends requests[s] `repeat` times for every s, in the order repeat 0 of every request, then
// repeat 1, ..., through `infer`, and compares each reply with references[s]. The result at
// index i is that of request s = i % requests.size(), repetition i / requests.size(); an RPC
// error or an unreadable reply is kept in its status. Each finished request is recorded in
// `progress` unless it is null. Returns once every request has finished (all threads joined).
// INVALID_ARGUMENT for bad options, no requests, or a reference count that differs from the
// request count.
absl::StatusOr<std::vector<RequestResult>> RunAccuracy(
    const AccuracyRunOptions& options, absl::Span<const inference::ModelInferRequest> requests,
    absl::Span<const std::vector<HostTensor>> references, const InferFunction& infer,
    ProgressLog* progress);

}  // namespace speech

#endif  // SPEECH_CLIENT_ACCURACY_ACCURACY_RUN_H_
