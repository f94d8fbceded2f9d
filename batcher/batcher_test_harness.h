// What the dynamic batcher's tests share: requests whose outputs prove which rows they got, a
// recorder of their completions, and a batcher started over fake executors. Test-only.
#ifndef SPEECH_BATCHER_BATCHER_TEST_HARNESS_H_
#define SPEECH_BATCHER_BATCHER_TEST_HARNESS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "batcher/dynamic_batcher.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_executor.h"

namespace speech {
namespace batcher_testing {

using Options = DynamicBatcher::Options;

struct Outcome {
  std::string id;
  absl::Status status;
  bool own_rows = false;  // its single output is a copy of its own input
  int64_t executed_batch_rows = 0;
  PhaseTimes times;
};

// Makes requests and records their completions. Thread-safe; must outlive the batcher.
class Recorder {
 public:
  // A request whose INT32 input of shape [rows, width] holds values that only it has.
  std::unique_ptr<InferenceRequest> Make(const std::string& id, int64_t rows = 1,
                                         int64_t width = 2) {
    auto bytes = std::make_shared<std::string>();
    const int32_t base = static_cast<int32_t>(std::hash<std::string>()(id) & 0xFFFFFF) * 64;
    for (int32_t i = 0; i < rows * width; ++i) {
      const int32_t value = base + i;
      bytes->append(reinterpret_cast<const char*>(&value), sizeof(value));
    }
    auto request = std::make_unique<InferenceRequest>();
    request->id = id;
    request->batch_rows = rows;
    InputTensor input;
    input.name = "INPUT0";
    input.type = inference::TYPE_INT32;
    input.shape = {rows, width};
    input.data = bytes->data();
    input.byte_size = bytes->size();
    request->inputs.push_back(std::move(input));
    // The bytes live in the completion, which outlives every use of the request's inputs.
    request->on_complete = [this, bytes](std::unique_ptr<InferenceRequest> done,
                                         absl::Status status) {
      Outcome outcome;
      outcome.id = done->id;
      outcome.status = std::move(status);
      outcome.own_rows = done->outputs.size() == 1 && done->outputs[0].data == *bytes;
      outcome.executed_batch_rows = done->executed_batch_rows;
      outcome.times = done->times;
      absl::MutexLock lock(&mu_);
      outcomes_.push_back(std::move(outcome));
    };
    return request;
  }

  void WaitFor(size_t count) const {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]()
                      ABSL_SHARED_LOCKS_REQUIRED(mu_) { return outcomes_.size() >= count; };
    mu_.Await(absl::Condition(&enough));
  }

  // In completion order.
  std::vector<Outcome> outcomes() const {
    absl::MutexLock lock(&mu_);
    return outcomes_;
  }

  // REQUIRES: `id` completed exactly once.
  Outcome Get(const std::string& id) const {
    Outcome found;
    int count = 0;
    for (const Outcome& outcome : outcomes()) {
      if (outcome.id == id) {
        found = outcome;
        ++count;
      }
    }
    EXPECT_EQ(count, 1) << id;
    return found;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Outcome> outcomes_ ABSL_GUARDED_BY(mu_);
};

Options Batching(int64_t max_batch_size, std::vector<int64_t> preferred = {},
                 absl::Duration max_queue_delay = absl::ZeroDuration()) {
  Options options;
  options.model_name = "tts";
  options.max_batch_size = max_batch_size;
  options.dynamic_batching = true;
  options.preferred_batch_sizes = std::move(preferred);
  options.max_queue_delay = max_queue_delay;
  return options;
}

struct Started {
  std::unique_ptr<DynamicBatcher> batcher;
  std::vector<FakeExecutor*> executors;  // owned by the batcher
};

Started Start(Options options, int executor_count, Clock* clock) {
  Started started;
  std::vector<std::unique_ptr<BatchExecutor>> executors;
  for (int i = 0; i < executor_count; ++i) {
    auto executor = std::make_unique<FakeExecutor>();
    started.executors.push_back(executor.get());
    executors.push_back(std::move(executor));
  }
  absl::StatusOr<std::unique_ptr<DynamicBatcher>> batcher =
      DynamicBatcher::Create(std::move(options), std::move(executors), clock);
  EXPECT_TRUE(batcher.ok()) << batcher.status();
  if (batcher.ok()) started.batcher = *std::move(batcher);
  return started;
}

std::vector<std::string> Ids(const FakeExecutor::Batch& batch) { return batch.request_ids; }

}  // namespace batcher_testing
}  // namespace speech

#endif  // SPEECH_BATCHER_BATCHER_TEST_HARNESS_H_
