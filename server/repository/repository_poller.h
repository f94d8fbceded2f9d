// Model control mode poll: a thread that calls ModelRepository::Poll every period, so that model
// directories that appear, change or go away are loaded, reloaded or unloaded while the server
// serves.
#ifndef SPEECH_SERVER_REPOSITORY_REPOSITORY_POLLER_H_
#define SPEECH_SERVER_REPOSITORY_REPOSITORY_POLLER_H_

#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/repository/model_repository.h"

namespace speech {

// Thread-safe. Borrows the repository, which must outlive the poller.
class RepositoryPoller {
 public:
  struct Options {
    // Time between the end of one poll and the start of the next (Triton's
    // --repository-poll-secs). Must be positive.
    absl::Duration period = absl::Seconds(15);
  };

  // Starts polling `repository` (after one period: Load has just read it).
  static absl::StatusOr<std::unique_ptr<RepositoryPoller>> Create(ModelRepository* repository,
                                                                  Options options);

  // Stop()s.
  ~RepositoryPoller();

  // Lets a poll in progress finish, then joins the thread. Idempotent.
  void Stop();

  // Polls completed so far.
  int polls() const;

 private:
  RepositoryPoller(ModelRepository* repository, Options options);
  void Run();

  // Constant after construction.
  ModelRepository* const repository_;
  const Options options_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int polls_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_REPOSITORY_POLLER_H_
