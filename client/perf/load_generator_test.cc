#include "client/perf/load_generator.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

// Answers at once with a fixed latency; every `fail_every`-th call fails. Counts calls and the
// most calls in flight at once.
class FakeTransport final : public InferTransport {
 public:
  explicit FakeTransport(int fail_every = 0) : fail_every_(fail_every) {}

  InferOutcome Infer(const inference::ModelInferRequest& request) override {
    const int now = ++in_flight_;
    int seen = max_in_flight_.load();
    while (now > seen && !max_in_flight_.compare_exchange_weak(seen, now)) {
    }
    InferOutcome outcome = Outcome(request);
    --in_flight_;
    return outcome;
  }

  void AsyncInfer(const inference::ModelInferRequest& request,
                  std::function<void(const InferOutcome&)> done) override {
    done(Outcome(request));
  }

  // Blocks until at least `count` calls were made.
  void WaitForCalls(int count) {
    absl::MutexLock lock(&mutex_);
    std::pair<int*, int> arg(&calls_, count);
    mutex_.Await(absl::Condition(
        +[](std::pair<int*, int>* arg) { return *arg->first >= arg->second; }, &arg));
  }

  int max_in_flight() const { return max_in_flight_.load(); }
  // Calls per model name, over every call made.
  std::map<std::string, int> calls_per_model() {
    absl::MutexLock lock(&mutex_);
    return calls_per_model_;
  }

 private:
  InferOutcome Outcome(const inference::ModelInferRequest& request) {
    absl::MutexLock lock(&mutex_);
    ++calls_;
    ++calls_per_model_[request.model_name()];
    InferOutcome outcome;
    if (fail_every_ > 0 && calls_ % fail_every_ == 0) {
      outcome.status = absl::UnavailableError("fake failure");
      return outcome;
    }
    outcome.latency = absl::Milliseconds(1);
    outcome.send = absl::Microseconds(10);
    outcome.recv = absl::Microseconds(20);
    return outcome;
  }

  const int fail_every_;
  std::atomic<int> in_flight_{0};
  std::atomic<int> max_in_flight_{0};
  absl::Mutex mutex_;
  int calls_ ABSL_GUARDED_BY(mutex_) = 0;
  std::map<std::string, int> calls_per_model_ ABSL_GUARDED_BY(mutex_);
};

std::vector<inference::ModelInferRequest> Requests(int count) {
  std::vector<inference::ModelInferRequest> requests(count);
  for (int i = 0; i < count; ++i) requests[i].set_model_name("m" + std::to_string(i));
  return requests;
}

TEST(LoadGeneratorTest, ConcurrencyModeKeepsAtMostNInFlightAndCyclesRequests) {
  FakeTransport transport;
  const auto requests = Requests(3);
  LoadGenerator::Options options;
  options.concurrency = 4;
  options.batch_size = 2;
  auto load = LoadGenerator::Create(options, &transport, &requests);
  ASSERT_TRUE(load.ok()) << load.status();
  (*load)->Start();
  transport.WaitForCalls(200);
  (*load)->Stop();
  const ClientWindow window = (*load)->TakeWindow();
  EXPECT_GE(window.success_count(), 200);
  EXPECT_EQ(window.error_count, 0);
  EXPECT_EQ(window.batch_size, 2);
  EXPECT_EQ(window.latencies.front(), absl::Milliseconds(1));
  EXPECT_EQ(window.total_send, absl::Microseconds(10) * window.success_count());
  EXPECT_LE(transport.max_in_flight(), 4);
  EXPECT_GT(window.duration, absl::ZeroDuration());
  // The requests are taken in turn: whatever order the racing senders reach the transport in,
  // each request is sent as often as the others, give or take the requests in flight.
  const std::map<std::string, int> calls = transport.calls_per_model();
  ASSERT_EQ(calls.size(), 3u);
  int fewest = calls.begin()->second;
  int most = fewest;
  for (const auto& [model, count] : calls) {
    EXPECT_TRUE(model == "m0" || model == "m1" || model == "m2") << model;
    fewest = std::min(fewest, count);
    most = std::max(most, count);
  }
  EXPECT_LE(most - fewest, options.concurrency);
}

TEST(LoadGeneratorTest, ErrorsAreCountedApartFromLatencies) {
  FakeTransport transport(/*fail_every=*/2);
  const auto requests = Requests(1);
  auto load = LoadGenerator::Create({}, &transport, &requests);
  ASSERT_TRUE(load.ok());
  (*load)->Start();
  transport.WaitForCalls(100);
  (*load)->Stop();
  const ClientWindow window = (*load)->TakeWindow();
  EXPECT_GE(window.error_count, 50);
  EXPECT_NEAR(window.error_count, window.success_count(), 1);
  EXPECT_EQ(window.first_error, "UNAVAILABLE: fake failure");
}

TEST(LoadGeneratorTest, TakeWindowStartsANewWindow) {
  FakeTransport transport;
  const auto requests = Requests(1);
  auto load = LoadGenerator::Create({}, &transport, &requests);
  ASSERT_TRUE(load.ok());
  (*load)->Start();
  transport.WaitForCalls(10);
  (*load)->Stop();
  EXPECT_GE((*load)->TakeWindow().success_count(), 10);
  EXPECT_EQ((*load)->TakeWindow().success_count(), 0);
}

TEST(LoadGeneratorTest, RequestRateModeSendsWithoutWaiting) {
  FakeTransport transport;
  const auto requests = Requests(2);
  LoadGenerator::Options options;
  options.mode = LoadMode::kRequestRate;
  options.schedule.requests_per_second = 100000;
  options.schedule.distribution = RequestDistribution::kPoisson;
  auto load = LoadGenerator::Create(options, &transport, &requests);
  ASSERT_TRUE(load.ok()) << load.status();
  (*load)->Start();
  transport.WaitForCalls(50);
  (*load)->Stop();
  EXPECT_GE((*load)->TakeWindow().success_count(), 50);
}

TEST(LoadGeneratorTest, RejectsBadOptions) {
  FakeTransport transport;
  const auto requests = Requests(1);
  const std::vector<inference::ModelInferRequest> none;
  LoadGenerator::Options options;
  EXPECT_FALSE(LoadGenerator::Create(options, &transport, &none).ok());
  EXPECT_FALSE(LoadGenerator::Create(options, nullptr, &requests).ok());
  options.concurrency = 0;
  EXPECT_FALSE(LoadGenerator::Create(options, &transport, &requests).ok());
  options = {};
  options.mode = LoadMode::kRequestRate;
  options.schedule.requests_per_second = 0;
  EXPECT_FALSE(LoadGenerator::Create(options, &transport, &requests).ok());
  options = {};
  options.batch_size = 0;
  EXPECT_FALSE(LoadGenerator::Create(options, &transport, &requests).ok());
}

}  // namespace
}  // namespace speech
