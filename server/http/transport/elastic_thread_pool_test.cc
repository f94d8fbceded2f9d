// Threads made on demand up to the cap, reused when idle, queued tasks beyond the cap, and a
// shutdown that runs what was queued.
#include "server/http/transport/elastic_thread_pool.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

TEST(ElasticThreadPoolTest, MakesNoThreadBeforeWork) {
  ElasticThreadPool pool(8);
  EXPECT_EQ(pool.thread_count(), 0u);
}

TEST(ElasticThreadPoolTest, GrowsWhileEveryThreadIsBusyUpToTheCap) {
  ElasticThreadPool pool(3);
  absl::Notification release;
  absl::BlockingCounter started(3);
  std::atomic<int> ran{0};
  for (int i = 0; i < 5; ++i) {
    pool.enqueue([&] {
      if (ran.fetch_add(1) < 3) {
        started.DecrementCount();
        release.WaitForNotification();
      }
    });
  }
  started.Wait();  // three tasks hold the three threads; two wait in the queue
  EXPECT_EQ(pool.thread_count(), 3u);
  EXPECT_EQ(ran.load(), 3);
  release.Notify();
  pool.shutdown();
  EXPECT_EQ(ran.load(), 5);
}

TEST(ElasticThreadPoolTest, ReusesIdleThreads) {
  ElasticThreadPool pool(16);
  for (int i = 0; i < 20; ++i) {
    absl::Notification done;
    pool.enqueue([&done] { done.Notify(); });
    done.WaitForNotification();
  }
  // One task at a time: the thread that finished one is idle (or about to be) for the next, so
  // threads are reused; a new one is made only when the last has not yet gone back to waiting.
  EXPECT_LT(pool.thread_count(), 20u);
}

TEST(ElasticThreadPoolTest, ShutdownRunsQueuedTasksAndThenNothing) {
  ElasticThreadPool pool(1);
  absl::Notification release;
  std::atomic<int> ran{0};
  pool.enqueue([&] {
    release.WaitForNotification();
    ++ran;
  });
  pool.enqueue([&] { ++ran; });
  release.Notify();
  pool.shutdown();
  EXPECT_EQ(ran.load(), 2);
  pool.enqueue([&] { ++ran; });
  pool.shutdown();  // idempotent
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
}  // namespace speech
