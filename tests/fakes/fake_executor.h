// A stand-in for a model instance in batcher tests: it records every batch it runs, answers each
// request with a copy of the request's own first input, and can be told to fail, to throw, or to
// hold batches until the test lets them finish.
#ifndef SPEECH_TESTS_FAKES_FAKE_EXECUTOR_H_
#define SPEECH_TESTS_FAKES_FAKE_EXECUTOR_H_

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/types/span.h"
#include "batcher/executor.h"
#include "batcher/request.h"

namespace speech {

// Execute() runs on the batcher's worker thread; every other method may be called from any
// thread at any time (all state is guarded by one mutex). Tests keep a raw pointer to it after
// handing it to the batcher; it lives until the batcher is destroyed.
class FakeExecutor : public BatchExecutor {
 public:
  struct Batch {
    std::vector<std::string> request_ids;
    std::vector<int64_t> rows;  // each request's own rows, in batch order
    int64_t total_rows = 0;
    std::thread::id thread;  // the thread that ran it
  };

  // Makes the batch with this index (0-based, counting every batch this executor saw) fail with
  // `status`, before any output is written.
  void FailBatch(int64_t index, absl::Status status) {
    absl::MutexLock lock(&mu_);
    failures_[index] = std::move(status);
  }

  // Makes the batch with this index throw std::runtime_error(what).
  void ThrowOnBatch(int64_t index, std::string what) {
    absl::MutexLock lock(&mu_);
    throws_[index] = std::move(what);
  }

  // From now on each batch, once recorded, waits for a Release() before it computes.
  void Hold() {
    absl::MutexLock lock(&mu_);
    holding_ = true;
  }
  // Lets `count` held (or future held) batches finish.
  void Release(int64_t count = 1) {
    absl::MutexLock lock(&mu_);
    permits_ += count;
  }
  // Stops holding: held batches and all later ones finish.
  void ReleaseAll() {
    absl::MutexLock lock(&mu_);
    holding_ = false;
  }

  // Blocks until `count` batches have entered Execute (and were recorded).
  void WaitUntilStarted(int64_t count) const {
    absl::MutexLock lock(&mu_);
    auto started = [this, count]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return static_cast<int64_t>(batches_.size()) >= count;
    };
    mu_.Await(absl::Condition(&started));
  }

  std::vector<Batch> batches() const {
    absl::MutexLock lock(&mu_);
    return batches_;
  }

  absl::Status Execute(absl::Span<InferenceRequest* const> batch) override {
    Batch record;
    for (const InferenceRequest* request : batch) {
      record.request_ids.push_back(request->id);
      record.rows.push_back(request->batch_rows);
      record.total_rows += request->batch_rows;
    }
    record.thread = std::this_thread::get_id();
    const int64_t total_rows = record.total_rows;
    std::string throw_what;
    {
      absl::MutexLock lock(&mu_);
      const int64_t index = static_cast<int64_t>(batches_.size());
      batches_.push_back(std::move(record));
      auto may_run = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return !holding_ || permits_ > 0; };
      mu_.Await(absl::Condition(&may_run));
      if (holding_) --permits_;
      if (auto it = failures_.find(index); it != failures_.end()) return it->second;
      if (auto it = throws_.find(index); it != throws_.end()) throw_what = it->second;
    }
    if (!throw_what.empty()) throw std::runtime_error(throw_what);

    const absl::Time start = absl::Now();
    for (InferenceRequest* request : batch) {
      request->outputs.clear();
      if (!request->inputs.empty()) {
        const InputTensor& input = request->inputs.front();
        OutputTensor output;
        output.name = "OUTPUT0";
        output.type = input.type;
        output.shape = input.shape;
        output.data.assign(input.data, input.byte_size);
        request->outputs.push_back(std::move(output));
      }
      request->executed_batch_rows = total_rows;
      PhaseTimes& times = request->times;
      times.compute_input_start = times.compute_input_end = start;
      times.compute_infer_start = times.compute_infer_end = start;
      times.compute_output_start = start;
      times.compute_output_end = absl::Now();
    }
    return absl::OkStatus();
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Batch> batches_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, absl::Status> failures_ ABSL_GUARDED_BY(mu_);
  std::map<int64_t, std::string> throws_ ABSL_GUARDED_BY(mu_);
  bool holding_ ABSL_GUARDED_BY(mu_) = false;
  int64_t permits_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace speech

#endif  // SPEECH_TESTS_FAKES_FAKE_EXECUTOR_H_
