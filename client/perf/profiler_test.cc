#include "client/perf/profiler.h"

#include <deque>
#include <sstream>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

// Hands out scripted windows; the last one repeats.
class ScriptedLoad final : public LoadSource {
 public:
  explicit ScriptedLoad(std::vector<ClientWindow> windows)
      : windows_(windows.begin(), windows.end()) {}
  void Start() override { ++starts; }
  ClientWindow TakeWindow() override {
    if (!primed_) {  // the profiler's first call only starts the first window
      primed_ = true;
      return ClientWindow();
    }
    ++taken;
    const ClientWindow window = windows_.front();
    if (windows_.size() > 1) windows_.pop_front();
    return window;
  }
  void Stop() override { ++stops; }

  int starts = 0, stops = 0, taken = 0;

 private:
  std::deque<ClientWindow> windows_;
  bool primed_ = false;
};

// Snapshots whose counters grow by 100 requests of 10 us queue and 50 us infer each call, with
// 400 inferred rows (4 per request) in 25 executions: 16 rows per execution. Or an error.
class ScriptedStatistics final : public StatisticsSource {
 public:
  explicit ScriptedStatistics(absl::Status error = absl::OkStatus()) : error_(error) {}
  absl::StatusOr<inference::ModelStatistics> Snapshot() override {
    ++calls;
    if (!error_.ok()) return error_;
    inference::ModelStatistics stats;
    const uint64_t n = 100 * calls;
    auto* s = stats.mutable_inference_stats();
    s->mutable_success()->set_count(n);
    s->mutable_queue()->set_count(n);
    s->mutable_queue()->set_ns(n * 10000);
    s->mutable_compute_infer()->set_count(n);
    s->mutable_compute_infer()->set_ns(n * 50000);
    stats.set_inference_count(4 * n);
    stats.set_execution_count(n / 4);
    return stats;
  }
  int calls = 0;

 private:
  absl::Status error_;
};

ClientWindow Window(int successes, int average_us, int errors = 0) {
  ClientWindow window;
  window.duration = absl::Seconds(1);
  for (int i = 0; i < successes; ++i) window.latencies.push_back(absl::Microseconds(average_us));
  window.total_send = absl::Microseconds(2) * successes;
  window.total_recv = absl::Microseconds(3) * successes;
  window.error_count = errors;
  if (errors > 0) window.first_error = "UNAVAILABLE: fake";
  return window;
}

Profiler::Options FastOptions() {
  Profiler::Options options;
  options.sleep = [](absl::Duration) {};
  return options;
}

TEST(ProfilerTest, StopsAtTheFirstThreeAgreeingWindows) {
  ScriptedLoad load(
      {Window(50, 900), Window(100, 100), Window(100, 101), Window(101, 100), Window(10, 5000)});
  ScriptedStatistics statistics;
  std::ostringstream progress;
  auto profiler = Profiler::Create(FastOptions(), &statistics, &progress);
  ASSERT_TRUE(profiler.ok());
  absl::StatusOr<PerfRow> row = (*profiler)->Measure(LoadMode::kConcurrency, 2, 1, &load);
  ASSERT_TRUE(row.ok()) << row.status();
  EXPECT_EQ(load.taken, 4);
  EXPECT_EQ(load.starts, 1);
  EXPECT_EQ(load.stops, 1);
  EXPECT_TRUE(row->stable);
  EXPECT_EQ(row->load, 2);
  EXPECT_EQ(row->client.success_count, 301);  // the last three windows only
  EXPECT_NEAR(row->client.inferences_per_second, 301.0 / 3, 1e-9);
  EXPECT_EQ(row->breakdown.server_queue, absl::Microseconds(10));
  EXPECT_EQ(row->breakdown.server_compute_infer, absl::Microseconds(50));
  EXPECT_EQ(row->breakdown.client_send, absl::Microseconds(2));
  EXPECT_EQ(row->server.inference_count, 1200);  // three windows
  EXPECT_EQ(row->server.execution_count, 75);
  EXPECT_DOUBLE_EQ(row->server.mean_batch_size(), 16.0);
  EXPECT_THAT(progress.str(), HasSubstr("window 4/10"));
  EXPECT_THAT(progress.str(), HasSubstr("(stable)"));
}

TEST(ProfilerTest, UnstableAfterMaxTrialsReportsTheLastWindows) {
  ScriptedLoad load({Window(100, 100), Window(200, 100), Window(100, 100), Window(200, 100)});
  Profiler::Options options = FastOptions();
  options.max_trials = 5;
  std::ostringstream progress;
  auto profiler = Profiler::Create(options, nullptr, &progress);
  ASSERT_TRUE(profiler.ok());
  absl::StatusOr<PerfRow> row = (*profiler)->Measure(LoadMode::kConcurrency, 1, 1, &load);
  ASSERT_TRUE(row.ok());
  EXPECT_EQ(load.taken, 5);
  EXPECT_FALSE(row->stable);
  EXPECT_THAT(progress.str(), HasSubstr("did not stabilise"));
}

TEST(ProfilerTest, EveryRequestFailingIsAnError) {
  ScriptedLoad load({Window(0, 0, /*errors=*/20)});
  std::ostringstream progress;
  auto profiler = Profiler::Create(FastOptions(), nullptr, &progress);
  ASSERT_TRUE(profiler.ok());
  absl::StatusOr<PerfRow> row = (*profiler)->Measure(LoadMode::kConcurrency, 3, 1, &load);
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(row.status().message(), HasSubstr("every request failed at Concurrency 3"));
  EXPECT_THAT(row.status().message(), HasSubstr("UNAVAILABLE: fake"));
  EXPECT_EQ(load.stops, 1);
}

TEST(ProfilerTest, ErrorsAboveTheFractionAreReportedButNotCountedAsThroughput) {
  ScriptedLoad load({Window(90, 100, /*errors=*/10)});
  std::ostringstream progress;
  auto profiler = Profiler::Create(FastOptions(), nullptr, &progress);
  ASSERT_TRUE(profiler.ok());
  absl::StatusOr<PerfRow> row = (*profiler)->Measure(LoadMode::kConcurrency, 1, 1, &load);
  ASSERT_TRUE(row.ok());
  EXPECT_DOUBLE_EQ(row->client.inferences_per_second, 90);
  EXPECT_EQ(row->client.error_count, 30);
  EXPECT_THAT(progress.str(), HasSubstr("10.0% of requests failed"));
}

TEST(ProfilerTest, UnimplementedStatisticsWarnOnceAndGiveZeros) {
  ScriptedLoad load({Window(100, 100)});
  ScriptedStatistics statistics(absl::UnimplementedError(""));
  std::ostringstream progress;
  auto profiler = Profiler::Create(FastOptions(), &statistics, &progress);
  ASSERT_TRUE(profiler.ok());
  for (int level = 1; level <= 2; ++level) {
    absl::StatusOr<PerfRow> row = (*profiler)->Measure(LoadMode::kConcurrency, level, 1, &load);
    ASSERT_TRUE(row.ok());
    EXPECT_EQ(row->breakdown.server_queue, absl::ZeroDuration());
    EXPECT_EQ(row->breakdown.network_server_send_recv, absl::Microseconds(95));
  }
  EXPECT_EQ(statistics.calls, 1);
  const std::string text = progress.str();
  EXPECT_THAT(text, HasSubstr("warning: the server gives no ModelStatistics (UNIMPLEMENTED)"));
  EXPECT_EQ(text.find("warning"), text.rfind("warning"));
}

TEST(ProfilerTest, RejectsBadOptions) {
  std::ostringstream progress;
  Profiler::Options options;
  options.max_trials = 2;
  EXPECT_FALSE(Profiler::Create(options, nullptr, &progress).ok());
  options = Profiler::Options();
  options.measurement_interval = absl::ZeroDuration();
  EXPECT_FALSE(Profiler::Create(options, nullptr, &progress).ok());
  EXPECT_FALSE(Profiler::Create(Profiler::Options(), nullptr, nullptr).ok());
}

}  // namespace
}  // namespace speech
