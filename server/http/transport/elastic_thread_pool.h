// A task queue for cpp-httplib whose threads are made as work needs them, up to a cap: httplib
// serves each connection on one thread for as long as it stays open, so a fixed pool either
// holds idle threads for clients that may never come or leaves the next client waiting, without
// an answer, once every thread has a connection. Here a new connection gets a new thread while
// fewer than the cap exist; beyond it, it waits for a thread to finish its connection.
#ifndef SPEECH_SERVER_HTTP_TRANSPORT_ELASTIC_THREAD_POOL_H_
#define SPEECH_SERVER_HTTP_TRANSPORT_ELASTIC_THREAD_POOL_H_

#include <httplib.h>

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace speech {

// Thread-safe. Threads, once made, stay until shutdown() (a burst of clients leaves them idle).
// shutdown() runs the tasks still queued, then joins every thread; enqueue after it runs nothing.
class ElasticThreadPool final : public httplib::TaskQueue {
 public:
  // REQUIRES: max_threads >= 1.
  explicit ElasticThreadPool(size_t max_threads);
  ~ElasticThreadPool() override;

  void enqueue(std::function<void()> task) override;
  void shutdown() override;

  // Threads made so far (for tests).
  size_t thread_count() const;

 private:
  void WorkerLoop();

  const size_t max_threads_;

  mutable absl::Mutex mu_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_ ABSL_GUARDED_BY(mu_);
  size_t idle_ ABSL_GUARDED_BY(mu_) = 0;
  bool shutting_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_TRANSPORT_ELASTIC_THREAD_POOL_H_
