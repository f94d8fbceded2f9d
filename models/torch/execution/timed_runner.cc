#include "models/torch/execution/timed_runner.h"

#include <utility>

namespace speech {

TimedRunner::TimedRunner() : thread_([this] { Loop(); }) {}

TimedRunner::~TimedRunner() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

TimedRunner::Outcome TimedRunner::Run(absl::AnyInvocable<void()> task, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !busy_; };
  if (!mu_.AwaitWithTimeout(absl::Condition(&idle), timeout)) return Outcome::kBusy;
  busy_ = true;
  pending_.emplace(std::move(task));
  return mu_.AwaitWithTimeout(absl::Condition(&idle), timeout) ? Outcome::kDone
                                                               : Outcome::kTimedOut;
}

void TimedRunner::Loop() {
  while (true) {
    absl::AnyInvocable<void()> task;
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return pending_.has_value() || stopping_;
      };
      mu_.Await(absl::Condition(&woken));
      if (!pending_.has_value()) return;  // stopping, and nothing left to run
      task = *std::move(pending_);
      pending_.reset();
    }
    task();
    task = nullptr;  // what it captured goes before the runner reports it done
    absl::MutexLock lock(&mu_);
    busy_ = false;
  }
}

}  // namespace speech
