// Enqueue-to-completion throughput of the dynamic batcher with an executor that does no work, from
// 1 and 16 producer threads, each keeping a bounded window of requests in flight.
//
//   bazel run -c opt //batcher:dynamic_batcher_benchmark
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "batcher/dynamic_batcher.h"
#include "benchmark/benchmark.h"

namespace speech {
namespace {

constexpr int64_t kMaxBatchSize = 32;

// Answers every request with nothing; counts batches and rows.
class TrivialExecutor : public BatchExecutor {
 public:
  explicit TrivialExecutor(std::atomic<int64_t>* batches) : batches_(batches) {}

  absl::Status Execute(absl::Span<InferenceRequest* const> batch) override {
    batches_->fetch_add(1, std::memory_order_relaxed);
    for (InferenceRequest* request : batch) {
      request->executed_batch_rows = static_cast<int64_t>(batch.size());
    }
    return absl::OkStatus();
  }

 private:
  std::atomic<int64_t>* const batches_;
};

// Shared by the benchmark threads; built and torn down by thread 0 (the benchmark library puts a
// barrier before and after the timed loop).
std::unique_ptr<DynamicBatcher> batcher;
std::atomic<int64_t> batches{0};

void BM_EnqueueToCompletion(benchmark::State& state) {
  const int64_t window = state.range(0);
  if (state.thread_index() == 0) {
    DynamicBatcher::Options options;
    options.model_name = "benchmark";
    options.max_batch_size = kMaxBatchSize;
    options.dynamic_batching = true;
    std::vector<std::unique_ptr<BatchExecutor>> executors;
    executors.push_back(std::make_unique<TrivialExecutor>(&batches));
    batches = 0;
    batcher = *DynamicBatcher::Create(options, std::move(executors));
  }
  static const float kInput[4] = {1, 2, 3, 4};
  std::atomic<int64_t> completed{0};
  int64_t enqueued = 0;
  for (auto _ : state) {
    while (enqueued - completed.load(std::memory_order_acquire) >= window) {
      std::this_thread::yield();
    }
    auto request = std::make_unique<InferenceRequest>();
    InputTensor input;
    input.type = inference::TYPE_FP32;
    input.shape = {1, 4};
    input.data = reinterpret_cast<const char*>(kInput);
    input.byte_size = sizeof(kInput);
    request->inputs.push_back(std::move(input));
    request->on_complete = [&completed](std::unique_ptr<InferenceRequest>, absl::Status) {
      completed.fetch_add(1, std::memory_order_release);
    };
    batcher->Enqueue(std::move(request));
    ++enqueued;
  }
  while (completed.load(std::memory_order_acquire) < enqueued) std::this_thread::yield();
  state.SetItemsProcessed(enqueued);
  if (state.thread_index() == 0) {
    batcher->Shutdown();
    state.counters["rows_per_batch"] = benchmark::Counter(
        static_cast<double>(state.iterations()) * state.threads() / std::max<int64_t>(1, batches));
    batcher.reset();
  }
}
BENCHMARK(BM_EnqueueToCompletion)->Arg(1)->Arg(64)->Threads(1)->UseRealTime();
BENCHMARK(BM_EnqueueToCompletion)->Arg(1)->Arg(64)->Threads(16)->UseRealTime();

}  // namespace
}  // namespace speech

BENCHMARK_MAIN();
