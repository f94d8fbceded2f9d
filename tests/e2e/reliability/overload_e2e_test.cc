// Overload of the real speech_server: tiny FastPitch with a queue of 8 requests (two instances
// of batch 8 beside it), driven by 64 closed-loop gRPC clients, more than twice what it can hold
// at once. Excess requests must be refused at once with UNAVAILABLE (naming the queue bound) and
// counted as REJECTED, every accepted request must succeed, the server's resident memory must
// stay bounded, and once the load drops every request must be served again.
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/inference_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/reliability/resident_memory.h"
#include "tests/harness/metrics_scrape.h"
#include "tests/harness/requests.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

constexpr int kClients = 64;
constexpr int kQueueSize = 8;

// A repository holding the default FastPitch with its queue bound cut to kQueueSize.
std::string SmallQueueRepository() {
  const std::filesystem::path root =
      std::filesystem::path(::testing::TempDir()) / "overload_repository";
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  std::filesystem::copy(std::filesystem::path(kDefaultRepository) / "fastpitch", root / "fastpitch",
                        std::filesystem::copy_options::recursive);
  const std::filesystem::path config = root / "fastpitch" / "config.pbtxt";
  std::ifstream in(config);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(text, HasSubstr("max_queue_size: 256"));
  std::filesystem::remove(config);
  std::ofstream(config) << absl::StrReplaceAll(
      text, {{"max_queue_size: 256", absl::StrCat("max_queue_size: ", kQueueSize)}});
  return root.string();
}

// Outcomes of a load run, by kind; one refusal message kept for the assertions.
struct Tally {
  std::atomic<int64_t> ok{0};
  std::atomic<int64_t> unavailable{0};
  std::mutex mu;
  std::vector<std::string> unexpected;  // status code and message of anything else
  std::string refusal;
};

// `clients` closed-loop clients, each with its own connection and no retries, for `duration`.
void Load(const std::string& target, int clients, absl::Duration duration, Tally* tally) {
  const absl::Time end = absl::Now() + duration;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      InferenceClient::Options options;
      options.target = target;
      options.max_attempts = 1;  // a refusal must reach the test, not be retried away
      auto client = InferenceClient::Create(options);
      if (!client.ok()) {
        std::lock_guard<std::mutex> lock(tally->mu);
        tally->unexpected.push_back(client.status().ToString());
        return;
      }
      (void)(*client)->WaitForConnected(absl::Seconds(30));
      const inference::ModelInferRequest request = FastPitchRequest();
      while (absl::Now() < end) {
        absl::StatusOr<inference::ModelInferResponse> reply =
            (*client)->Infer(request, absl::Seconds(60));
        if (reply.ok()) {
          ++tally->ok;
          continue;
        }
        {
          std::lock_guard<std::mutex> lock(tally->mu);
          if (reply.status().code() == absl::StatusCode::kUnavailable) {
            ++tally->unavailable;
            if (tally->refusal.empty()) tally->refusal = std::string(reply.status().message());
          } else {
            tally->unexpected.push_back(reply.status().ToString());
          }
        }
        // As a real client backs off before it retries (on one machine, clients that retry at
        // once would take the CPU the server needs to serve).
        absl::SleepFor(absl::Milliseconds(20));
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
}

double Rejected(const ServerProcess& server) {
  absl::StatusOr<HttpReply> scrape = HttpGet(server.metrics_port(), "/metrics");
  EXPECT_TRUE(scrape.ok()) << scrape.status();
  if (!scrape.ok()) return -1;
  absl::StatusOr<double> value = SampleValue(
      scrape->body,
      R"(nv_inference_request_failure{model="fastpitch",version="1",reason="REJECTED"})");
  return value.ok() ? *value : 0;
}

TEST(OverloadTest, ExcessIsRefusedAtOnceAndCountedAcceptedWorkSucceedsAndItRecovers) {
  auto server =
      ServerProcess::Start("server/speech_server",
                           {"--model-repository=" + SmallQueueRepository(), "--allow-http=false"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = (*server)->grpc_target();

  // Warm-up at a load the queue holds, so that the allocator's caches are full before the
  // memory baseline.
  Tally warm;
  Load(target, 8, absl::Seconds(3), &warm);
  EXPECT_GT(warm.ok.load(), 0);
  EXPECT_TRUE(warm.unexpected.empty()) << warm.unexpected.front();
  const double rejected_before = Rejected(**server);
  const absl::StatusOr<int64_t> resident_before = ResidentBytes((*server)->pid());
  ASSERT_TRUE(resident_before.ok()) << resident_before.status();

  Tally flood;
  Load(target, kClients, absl::Seconds(6), &flood);
  const absl::StatusOr<int64_t> resident_after = ResidentBytes((*server)->pid());
  ASSERT_TRUE(resident_after.ok()) << resident_after.status();
  EXPECT_TRUE(flood.unexpected.empty())
      << flood.unexpected.size() << " unexpected outcomes, first: " << flood.unexpected.front();
  EXPECT_GT(flood.ok.load(), 0);
  EXPECT_GT(flood.unavailable.load(), 0) << "64 clients never found the queue of 8 full";
  EXPECT_THAT(flood.refusal, HasSubstr(absl::StrCat("max_queue_size ", kQueueSize)));
  EXPECT_EQ(Rejected(**server) - rejected_before, static_cast<double>(flood.unavailable.load()));
  // The queue bounds what the server holds: a flood of any length adds at most a bounded
  // amount (threads and buffers of 64 connections), here well under 256 MiB.
  EXPECT_LT(*resident_after - *resident_before, int64_t{256} << 20)
      << "resident memory grew from " << *resident_before << " to " << *resident_after;
  std::cerr << "warm-up (8 clients, 3 s): " << warm.ok.load()
            << " served; flood (64 clients, 6 s): " << flood.ok.load() << " served, "
            << flood.unavailable.load() << " refused; resident " << (*resident_before >> 20)
            << " -> " << (*resident_after >> 20) << " MiB" << std::endl;

  // Once the load drops, everything is served again.
  Tally after;
  Load(target, 4, absl::Seconds(2), &after);
  EXPECT_GT(after.ok.load(), 0);
  EXPECT_EQ(after.unavailable.load(), 0);
  EXPECT_TRUE(after.unexpected.empty()) << after.unexpected.front();
  EXPECT_EQ((*server)->Stop(), 0) << (*server)->Output();
}

}  // namespace
}  // namespace speech
