// Runs tasks on a thread of its own and waits for each at most a timeout. This is how an instance
// gives up on a forward() that runs past its execution timeout: LibTorch cannot interrupt a
// running graph, so the task goes on in the background, and the runner takes no new task until
// it has ended.
#ifndef SPEECH_MODELS_TORCH_EXECUTION_TIMED_RUNNER_H_
#define SPEECH_MODELS_TORCH_EXECUTION_TIMED_RUNNER_H_

#include <optional>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace speech {

// Thread-safe, though an instance calls it from its one worker thread.
class TimedRunner {
 public:
  enum class Outcome {
    kDone,      // the task ran and ended within the timeout
    kTimedOut,  // the task started but had not ended at the timeout; it goes on
    kBusy,      // an earlier task that timed out had still not ended; this one did not start
  };

  TimedRunner();
  // Waits for a task that is still running to end.
  ~TimedRunner();

  TimedRunner(const TimedRunner&) = delete;
  TimedRunner& operator=(const TimedRunner&) = delete;

  // Waits up to `timeout` for an earlier task to end (kBusy if it does not), then runs `task` on
  // the runner's thread and waits up to `timeout` for it. After kTimedOut whatever `task` uses
  // must stay valid until it ends: give it owned copies.
  Outcome Run(absl::AnyInvocable<void()> task, absl::Duration timeout);

 private:
  void Loop();

  absl::Mutex mu_;
  std::optional<absl::AnyInvocable<void()>> pending_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;  // from a task's start to its end
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts once the state above exists
};

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_EXECUTION_TIMED_RUNNER_H_
