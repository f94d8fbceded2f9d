#include "server/http/transport/elastic_thread_pool.h"

#include <utility>

#include "proto/check.h"

namespace speech {

ElasticThreadPool::ElasticThreadPool(size_t max_threads) : max_threads_(max_threads) {
  SPEECH_CHECK(max_threads >= 1, "max_threads must be positive");
}

ElasticThreadPool::~ElasticThreadPool() { shutdown(); }

void ElasticThreadPool::enqueue(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (shutting_down_) return;
  tasks_.push_back(std::move(task));
  // Idle threads take tasks in turn; only when none is free does the pool grow.
  if (idle_ < tasks_.size() && threads_.size() < max_threads_) {
    threads_.emplace_back([this] { WorkerLoop(); });
  }
}

void ElasticThreadPool::shutdown() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    shutting_down_ = true;
    threads.swap(threads_);
  }
  for (std::thread& thread : threads) thread.join();
}

size_t ElasticThreadPool::thread_count() const {
  absl::MutexLock lock(&mu_);
  return threads_.size();
}

void ElasticThreadPool::WorkerLoop() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      ++idle_;
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !tasks_.empty() || shutting_down_;
      };
      mu_.Await(absl::Condition(&ready));
      --idle_;
      if (tasks_.empty()) return;  // shutting down, nothing left to run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace speech
