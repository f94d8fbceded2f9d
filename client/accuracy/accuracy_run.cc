#include "client/accuracy/accuracy_run.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

// The fate of request `sample`, repetition `repeat`.
RequestResult RunOne(int64_t index, int64_t sample, int64_t repeat,
                     const inference::ModelInferRequest& request,
                     absl::Span<const HostTensor> reference, const InferFunction& infer) {
  RequestResult result;
  result.index = index;
  result.sample = sample;
  result.repeat = repeat;
  absl::StatusOr<inference::ModelInferResponse> response = infer(request);
  if (!response.ok()) {
    result.status = response.status();
    return result;
  }
  absl::StatusOr<std::vector<HostTensor>> outputs = OutputsFromResponse(*response);
  if (!outputs.ok()) {
    result.status = absl::Status(outputs.status().code(),
                                 absl::StrCat("unreadable reply: ", outputs.status().message()));
    return result;
  }
  result.outputs = CompareReply(*outputs, reference);
  return result;
}

}  // namespace

absl::StatusOr<std::vector<HostTensor>> RequestInputs(const inference::ModelInferRequest& request) {
  if (request.raw_input_contents_size() != request.inputs_size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("request carries ", request.raw_input_contents_size(), " raw contents for ",
                     request.inputs_size(), " inputs"));
  }
  std::vector<HostTensor> inputs;
  for (int i = 0; i < request.inputs_size(); ++i) {
    HostTensor& tensor = inputs.emplace_back();
    tensor.name = request.inputs(i).name();
    tensor.datatype = request.inputs(i).datatype();
    tensor.shape.assign(request.inputs(i).shape().begin(), request.inputs(i).shape().end());
    tensor.bytes = request.raw_input_contents(i);
  }
  return inputs;
}

std::vector<TensorComparison> CompareReply(absl::Span<const HostTensor> reply,
                                           absl::Span<const HostTensor> reference) {
  std::vector<TensorComparison> comparisons;
  comparisons.reserve(reference.size());
  for (const HostTensor& expected : reference) {
    auto actual = std::find_if(reply.begin(), reply.end(), [&](const HostTensor& tensor) {
      return tensor.name == expected.name;
    });
    comparisons.push_back(actual == reply.end() ? MissingOutput()
                                                : CompareTensors(*actual, expected));
  }
  return comparisons;
}

absl::StatusOr<std::vector<RequestResult>> RunAccuracy(
    const AccuracyRunOptions& options, absl::Span<const inference::ModelInferRequest> requests,
    absl::Span<const std::vector<HostTensor>> references, const InferFunction& infer,
    ProgressLog* progress) {
  if (options.concurrency <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("concurrency must be positive; was ", options.concurrency));
  }
  if (options.repeat <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("repeat must be positive; was ", options.repeat));
  }
  if (requests.empty()) return absl::InvalidArgumentError("no requests to send");
  if (references.size() != requests.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat(references.size(), " references for ", requests.size(), " requests"));
  }
  const int64_t samples = static_cast<int64_t>(requests.size());
  const int64_t total = samples * options.repeat;
  // Each slot is written by the one thread that took its index, and read after the joins.
  std::vector<RequestResult> results(static_cast<size_t>(total));
  std::atomic<int64_t> next{0};
  auto client = [&] {
    for (int64_t i = next.fetch_add(1); i < total; i = next.fetch_add(1)) {
      const int64_t sample = i % samples;
      results[i] = RunOne(i, sample, i / samples, requests[sample], references[sample], infer);
      if (progress != nullptr) progress->Record(!results[i].status.ok());
    }
  };
  std::vector<std::thread> threads;
  const int64_t thread_count = std::min<int64_t>(options.concurrency, total);
  for (int64_t t = 0; t < thread_count; ++t) threads.emplace_back(client);
  for (std::thread& thread : threads) thread.join();
  return results;
}

}  // namespace speech
