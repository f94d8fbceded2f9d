// Where model versions go when the last request using them lets go: a thread of its own stops
// each one's batcher (which finishes whatever it had accepted and joins its workers) and frees
// it. The last holder of a version is often one of that version's own worker threads, finishing
// a request; it cannot join itself, so it only hands the version over.
#ifndef SPEECH_SERVER_REPOSITORY_RETIRED_MODELS_H_
#define SPEECH_SERVER_REPOSITORY_RETIRED_MODELS_H_

#include <deque>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/repository/model_loader.h"

namespace speech {

// Thread-safe. Create it through Create (shared: every version's deleter holds a reference).
class RetiredModels : public std::enable_shared_from_this<RetiredModels> {
 public:
  static std::shared_ptr<RetiredModels> Create();

  // Stop()s.
  ~RetiredModels();

  // `model` as a shared pointer whose last release hands it to this thread.
  std::shared_ptr<ServedModel> Share(std::unique_ptr<ServedModel> model);

  // Blocks until every version handed over so far is freed; for tests and orderly shutdown.
  void WaitUntilIdle();

  // Frees what is pending and joins the thread. Versions released afterwards are freed on the
  // releasing thread. Idempotent.
  void Stop();

  // Versions freed so far.
  int freed() const;

 private:
  RetiredModels() = default;
  void Retire(ServedModel* model);
  void Run();

  mutable absl::Mutex mu_;
  std::deque<ServedModel*> pending_ ABSL_GUARDED_BY(mu_);
  bool freeing_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  int freed_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;  // started by Create, joined by Stop
};

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_RETIRED_MODELS_H_
