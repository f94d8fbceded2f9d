// Failover across replicas: three real speech_server processes on loopback, and client threads
// sending requests without pause through one InferenceClient given all three addresses. One
// replica goes away under that load, killed (SIGKILL: its connections reset, then it refuses
// them) or drained (SIGTERM: it serves for its drain period, refuses with UNAVAILABLE, exits).
// Every client request must succeed; each replica's statistics must show it served requests
// before it went; the survivors must go on serving. Nothing here is timed: the waits are bounded
// generously for a loaded two-core machine and only say how long to wait for progress.
#include <signal.h>

#include <array>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/inference_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/requests.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

constexpr int kReplicas = 3;
constexpr int kClientThreads = 4;
// How many more requests each survivor must serve after the loss before the load stops.
constexpr int64_t kServedAfterLoss = 50;

// What the client threads saw. Thread-safe.
class Outcomes {
 public:
  void Record(const absl::Status& status) {
    absl::MutexLock lock(&mutex_);
    if (status.ok()) {
      ++ok_;
    } else {
      failures_.push_back(
          absl::StrCat(absl::StatusCodeToString(status.code()), ": ", status.message()));
    }
  }
  int64_t ok() const {
    absl::MutexLock lock(&mutex_);
    return ok_;
  }
  std::vector<std::string> failures() const {
    absl::MutexLock lock(&mutex_);
    return failures_;
  }

 private:
  mutable absl::Mutex mutex_;
  int64_t ok_ ABSL_GUARDED_BY(mutex_) = 0;
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mutex_);
};

class FailoverEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> targets;
    for (int r = 0; r < kReplicas; ++r) {
      // Only `identity` loads (explicit model control), so each server starts in seconds.
      auto server = ServerProcess::Start(
          "server/speech_server",
          {absl::StrCat("--model-repository=", kDefaultRepository), "--allow-metrics=false",
           "--model-control-mode=explicit", "--load-model=identity", "--drain-period-secs=1",
           "--exit-timeout-secs=30"});
      ASSERT_TRUE(server.ok()) << server.status();
      servers_[r] = *std::move(server);
      // One client per replica, for its statistics.
      auto probe = InferenceClient::Create(InferenceClient::Options{servers_[r]->grpc_target()});
      ASSERT_TRUE(probe.ok()) << probe.status();
      probes_[r] = *std::move(probe);
      targets.push_back(servers_[r]->grpc_target());
    }
    InferenceClient::Options options;
    options.target = absl::StrJoin(targets, ",");
    options.default_deadline = absl::Seconds(60);
    auto client = InferenceClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    ASSERT_TRUE(client_->WaitForConnected(absl::Seconds(60)).ok());
  }

  void TearDown() override {
    StopLoad();
    client_.reset();
    for (auto& server : servers_) {
      if (server != nullptr) server->Stop();
    }
  }

  void StartLoad() {
    for (int t = 0; t < kClientThreads; ++t) {
      threads_.emplace_back([this] {
        const inference::ModelInferRequest request = IdentityRequest();
        while (!stop_.HasBeenNotified()) outcomes_.Record(client_->Infer(request).status());
      });
    }
  }

  void StopLoad() {
    if (!stop_.HasBeenNotified()) stop_.Notify();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

  // The requests replica `r` has served, from its own statistics; -1 when it cannot say.
  int64_t Served(int r) const {
    absl::StatusOr<inference::ModelStatisticsResponse> stats =
        probes_[r]->ModelStatistics("identity");
    if (!stats.ok() || stats->model_stats_size() != 1) return -1;
    return static_cast<int64_t>(stats->model_stats(0).inference_stats().success().count());
  }

  // Waits until every replica in `replicas` has served more than `at_least[r]` (polling the
  // statistics; the load goes on meanwhile). False when two minutes pass first.
  bool WaitUntilServed(const std::vector<int>& replicas,
                       const std::array<int64_t, kReplicas>& at_least) const {
    const absl::Time give_up = absl::Now() + absl::Minutes(2);
    while (absl::Now() < give_up) {
      bool all = true;
      for (int r : replicas) all = all && Served(r) > at_least[r];
      if (all) return true;
      absl::SleepFor(absl::Milliseconds(20));  // polling other processes' counters
    }
    return false;
  }

  // Loses replica 0 with `signal` under load; checks what the clients and the others saw.
  void LoseOneReplicaUnderLoad(int signal) {
    StartLoad();
    // Before the loss: every replica serves part of the load.
    ASSERT_TRUE(WaitUntilServed({0, 1, 2}, {0, 0, 0})) << "not every replica was reached";
    std::array<int64_t, kReplicas> before{};
    for (int r = 0; r < kReplicas; ++r) before[r] = Served(r);
    for (int r = 0; r < kReplicas; ++r) EXPECT_GT(before[r], 0) << "replica " << r;

    servers_[0]->Signal(signal);
    const int64_t ok_at_signal = outcomes_.ok();
    if (signal == SIGTERM) {
      // Draining, then refusing, then gone: exit 0 once its accepted requests are answered.
      EXPECT_EQ(servers_[0]->Wait(), 0) << servers_[0]->Output();
    } else {
      EXPECT_EQ(servers_[0]->Wait(), 128 + SIGKILL);
    }
    // After the loss: the survivors go on serving.
    std::array<int64_t, kReplicas> target = {0, Served(1) + kServedAfterLoss,
                                             Served(2) + kServedAfterLoss};
    EXPECT_TRUE(WaitUntilServed({1, 2}, target)) << "the survivors stopped serving";
    StopLoad();

    EXPECT_THAT(outcomes_.failures(), ::testing::IsEmpty());
    EXPECT_GT(outcomes_.ok(), ok_at_signal);
    std::cerr << "served before the loss " << absl::StrJoin(before, ", ") << "; after " << Served(1)
              << ", " << Served(2) << " by the survivors; " << outcomes_.ok() << " requests OK, "
              << outcomes_.failures().size() << " failed" << std::endl;
  }

  std::array<std::unique_ptr<ServerProcess>, kReplicas> servers_;
  std::array<std::unique_ptr<InferenceClient>, kReplicas> probes_;
  std::unique_ptr<InferenceClient> client_;
  absl::Notification stop_;
  std::vector<std::thread> threads_;
  Outcomes outcomes_;
};

TEST_F(FailoverEndToEndTest, EveryRequestSucceedsWhenAReplicaIsKilled) {
  LoseOneReplicaUnderLoad(SIGKILL);
}

TEST_F(FailoverEndToEndTest, EveryRequestSucceedsWhenAReplicaDrainsAndExits) {
  LoseOneReplicaUnderLoad(SIGTERM);
}

}  // namespace
}  // namespace speech
