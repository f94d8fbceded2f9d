// Graceful drain of the real speech_server, as a Kubernetes rolling update does it: under load
// from 8 gRPC clients, SIGTERM. The gRPC health service must report NOT_SERVING within 100 ms and
// ServerReady false, the server must go on serving through the drain period, every request must
// end OK or UNAVAILABLE (never CANCELLED, INTERNAL or anything else), and the process must exit 0
// within the drain period plus the exit timeout. A second signal ends it at once. Under a
// sanitizer the flip may take kMaxFlip: the health check's round trip through an instrumented
// server under load took 114 to 226 ms under ThreadSanitizer, not the server's reaction.
#include <signal.h>

#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/inference_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/requests.h"
#include "tests/harness/sanitizer.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

constexpr int kClients = 8;
constexpr int kDrainSecs = 2;
constexpr int kExitTimeoutSecs = 10;
// From SIGTERM to NOT_SERVING on the health service, as a load balancer polling it sees.
constexpr absl::Duration kMaxFlip = absl::Milliseconds(kUnderSanitizer ? 500 : 100);

std::unique_ptr<ServerProcess> StartIdentityServer(int drain_secs) {
  // Only `identity` loads (explicit model control), so the server starts in seconds.
  auto server = ServerProcess::Start(
      "server/speech_server",
      {absl::StrCat("--model-repository=", kDefaultRepository), "--allow-metrics=false",
       "--model-control-mode=explicit", "--load-model=identity",
       absl::StrCat("--drain-period-secs=", drain_secs),
       absl::StrCat("--exit-timeout-secs=", kExitTimeoutSecs)});
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// What the clients saw, by status code, split at the moment of the signal.
class Outcomes {
 public:
  void Record(absl::StatusCode code, bool after_signal, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(after_signal ? after_ : before_)[code];
    if (code != absl::StatusCode::kOk && code != absl::StatusCode::kUnavailable) {
      unexpected_.push_back(message);
    }
  }
  int Count(absl::StatusCode code, bool after_signal) {
    std::lock_guard<std::mutex> lock(mu_);
    return (after_signal ? after_ : before_)[code];
  }
  std::vector<std::string> Unexpected() {
    std::lock_guard<std::mutex> lock(mu_);
    return unexpected_;
  }

 private:
  std::mutex mu_;
  std::map<absl::StatusCode, int> before_;
  std::map<absl::StatusCode, int> after_;
  std::vector<std::string> unexpected_;
};

TEST(DrainEndToEndTest, SigtermUnderLoadDrainsRefusesFinishesAndExitsZero) {
  std::unique_ptr<ServerProcess> server = StartIdentityServer(kDrainSecs);
  ASSERT_NE(server, nullptr);
  const std::string target = server->grpc_target();
  auto probe = InferenceClient::Create(InferenceClient::Options{target});
  ASSERT_TRUE(probe.ok()) << probe.status();
  auto serving = (*probe)->HealthCheck("");
  ASSERT_TRUE(serving.ok()) << serving.status();
  ASSERT_EQ(*serving, grpc::health::v1::HealthCheckResponse::SERVING);

  const absl::Time start = absl::Now();
  std::atomic<bool> signalled{false};
  std::atomic<bool> stop{false};
  Outcomes outcomes;
  std::vector<std::thread> clients;
  for (int k = 0; k < kClients; ++k) {
    clients.emplace_back([&] {
      InferenceClient::Options options{target};
      options.default_deadline = absl::Seconds(30);
      auto client = InferenceClient::Create(options);
      if (!client.ok()) return;
      const inference::ModelInferRequest request = IdentityRequest();
      while (!stop.load()) {
        // Read before the call: a request sent before the signal counts as before it.
        const bool after = signalled.load();
        absl::StatusOr<inference::ModelInferResponse> reply = (*client)->Infer(request);
        outcomes.Record(reply.status().code(), after,
                        absl::StrCat(absl::StatusCodeToString(reply.status().code()), " ",
                                     reply.status().message(), " at ",
                                     absl::FormatDuration(absl::Now() - start)));
        if (!reply.ok()) absl::SleepFor(absl::Milliseconds(5));  // as a client backing off
      }
    });
  }
  absl::SleepFor(absl::Seconds(1));

  // Health, polled every 2 ms from the signal on: when does it flip?
  absl::Time signal_time;
  absl::Time not_serving_seen = absl::InfiniteFuture();
  absl::Notification health_started;
  std::thread health([&] {
    health_started.Notify();
    while (!stop.load()) {
      auto status = (*probe)->HealthCheck("");
      if (signalled.load() && status.ok() &&
          *status == grpc::health::v1::HealthCheckResponse::NOT_SERVING) {
        not_serving_seen = absl::Now();
        return;
      }
      if (!status.ok() && signalled.load()) return;  // gone before it was seen: fails below
      absl::SleepFor(absl::Milliseconds(2));
    }
  });
  health_started.WaitForNotification();
  signal_time = absl::Now();
  signalled.store(true);
  server->Signal(SIGTERM);
  health.join();
  const absl::Duration flip = not_serving_seen - signal_time;
  EXPECT_LT(flip, kMaxFlip) << server->Output();

  // Still draining: not ready, but serving.
  absl::SleepFor(absl::Milliseconds(300));
  auto ready = (*probe)->ServerReady();
  ASSERT_TRUE(ready.ok()) << ready.status() << "\n" << server->Output();
  EXPECT_FALSE(*ready);
  const int served_while_draining = outcomes.Count(absl::StatusCode::kOk, true);

  const int exit_code = server->Wait();
  const absl::Duration exit_after = absl::Now() - signal_time;
  stop.store(true);
  for (std::thread& client : clients) client.join();

  EXPECT_EQ(exit_code, 0) << server->Output();
  EXPECT_LT(exit_after, absl::Seconds(kDrainSecs + kExitTimeoutSecs));
  EXPECT_GE(exit_after, absl::Seconds(kDrainSecs));
  EXPECT_GT(outcomes.Count(absl::StatusCode::kOk, false), 0);
  EXPECT_GT(served_while_draining, 0) << "the drain period served nothing";
  EXPECT_GT(outcomes.Count(absl::StatusCode::kUnavailable, true), 0)
      << "nothing was refused after the drain period";
  EXPECT_THAT(outcomes.Unexpected(), ::testing::IsEmpty());
  std::cerr << "health flipped " << absl::FormatDuration(flip) << " after SIGTERM; exit after "
            << absl::FormatDuration(exit_after) << "; OK before "
            << outcomes.Count(absl::StatusCode::kOk, false) << ", OK after "
            << outcomes.Count(absl::StatusCode::kOk, true) << ", UNAVAILABLE after "
            << outcomes.Count(absl::StatusCode::kUnavailable, true) << std::endl;
}

TEST(DrainEndToEndTest, SecondSignalExitsAtOnce) {
  std::unique_ptr<ServerProcess> server = StartIdentityServer(/*drain_secs=*/600);
  ASSERT_NE(server, nullptr);
  server->Signal(SIGTERM);
  absl::SleepFor(absl::Milliseconds(200));
  const absl::Time second = absl::Now();
  server->Signal(SIGINT);
  const int exit_code = server->Wait();
  EXPECT_LT(absl::Now() - second, absl::Seconds(5));
  EXPECT_EQ(exit_code, 1) << server->Output();
  EXPECT_THAT(server->Output(), ::testing::HasSubstr("exiting at once"));
}

}  // namespace
}  // namespace speech
