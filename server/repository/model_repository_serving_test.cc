// Models that ModelRepository loaded, serving requests: completion, the configured queue delay on
// the given clock, shutdown finishing accepted requests and refusing new ones, and the metrics
// of every version.
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "batcher/request.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics/catalog.h"
#include "server/repository/model_repository.h"
#include "server/repository/repository_test_support.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

// --- Serving -------------------------------------------------------------------------------------

TEST_F(ModelRepositoryTest, RequestsToALoadedModelComplete) {
  AddModel("m", Identity());
  Completions completions;
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  absl::StatusOr<std::shared_ptr<const ServedModel>> model = repository->Find("m", "");
  ASSERT_TRUE(model.ok()) << model.status();

  (*model)->batcher->Enqueue(completions.Make("a", 3));
  completions.WaitFor(1);
  const std::vector<Outcome> outcomes = completions.outcomes();
  ASSERT_THAT(outcomes, SizeIs(1));
  EXPECT_EQ(outcomes[0].id, "a");
  EXPECT_TRUE(outcomes[0].status.ok()) << outcomes[0].status;
  EXPECT_TRUE(outcomes[0].echoed);
  EXPECT_EQ(outcomes[0].executed_batch_rows, 3);
  EXPECT_THAT(factory_.batch_rows("m"), ElementsAre(8, 3));  // warm-up, then the request
}

TEST_F(ModelRepositoryTest, BatcherWaitsTheConfiguredQueueDelayOnTheGivenClock) {
  AddModel("m", Identity(R"pb(
             dynamic_batching {
               preferred_batch_size: [ 4 ]
               max_queue_delay_microseconds: 1000
             }
           )pb"));
  Completions completions;
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  absl::StatusOr<std::shared_ptr<const ServedModel>> model = repository->Find("m", "1");
  ASSERT_TRUE(model.ok()) << model.status();

  const absl::Time arrival = clock_.Now();
  (*model)->batcher->Enqueue(completions.Make("lonely"));
  // The scheduler waits for companions until the oldest request has waited 1 ms of fake time.
  clock_.BlockUntilSleepingUntil(arrival + absl::Microseconds(1000));
  EXPECT_THAT(completions.outcomes(), IsEmpty());
  clock_.Advance(absl::Microseconds(1000));
  completions.WaitFor(1);
  EXPECT_TRUE(completions.outcomes()[0].status.ok());
  EXPECT_EQ(completions.outcomes()[0].executed_batch_rows, 1);
}

TEST_F(ModelRepositoryTest, ShutdownFinishesAcceptedRequestsAndRefusesNewOnes) {
  AddModel("m", Identity());
  Completions completions;
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  absl::StatusOr<std::shared_ptr<const ServedModel>> model = repository->Find("m", "");
  ASSERT_TRUE(model.ok()) << model.status();
  DynamicBatcher& batcher = *(*model)->batcher;

  factory_.Hold("m");
  for (const char* id : {"a", "b", "c"}) batcher.Enqueue(completions.Make(id));
  factory_.WaitForExecutions("m", 2);  // the warm-up, then "a" (held)
  size_t completed_when_shut_down = 0;
  std::thread closer([&] {
    repository->Shutdown();
    completed_when_shut_down = completions.outcomes().size();
  });
  factory_.Release("m");
  closer.join();

  EXPECT_EQ(completed_when_shut_down, 3u);
  for (const Outcome& outcome : completions.outcomes()) {
    EXPECT_TRUE(outcome.status.ok()) << outcome.id << ": " << outcome.status;
  }
  batcher.Enqueue(completions.Make("late"));
  ASSERT_THAT(completions.outcomes(), SizeIs(4));
  EXPECT_EQ(completions.outcomes()[3].id, "late");
  EXPECT_THAT(completions.outcomes()[3].status,
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("model 'm' is shutting down")));
}

// --- Metrics -------------------------------------------------------------------------------------

std::string PendingLine(const std::string& model, const std::string& version, int64_t depth) {
  return absl::StrCat("nv_inference_pending_request_count{model=\"", model, "\",version=\"",
                      version, "\"} ", depth, "\n");
}

std::string ExecutionsLine(const std::string& model, const std::string& version, int64_t count) {
  return absl::StrCat("nv_inference_exec_count{model=\"", model, "\",version=\"", version, "\"} ",
                      count, "\n");
}

TEST_F(ModelRepositoryTest, MetricsGiveEveryVersionStatsAndItsQueueDepth) {
  AddModel("m", Identity("version_policy { all {} }"), {1, 2});
  MetricsCatalog::Options metrics_options;
  metrics_options.gpu_metrics = false;  // hermetic: no NVML series on a GPU host
  absl::StatusOr<std::unique_ptr<MetricsCatalog>> catalog = MetricsCatalog::Create(metrics_options);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  Completions completions;
  std::unique_ptr<ModelRepository> repository = MustLoad(catalog->get());
  ASSERT_NE(repository, nullptr);

  ASSERT_THAT(repository->Versions("m"), SizeIs(2));
  for (const std::shared_ptr<const ServedModel>& model : repository->Versions("m")) {
    EXPECT_NE(model->stats, nullptr) << model->version;
  }
  std::string text = (*catalog)->Expose();
  EXPECT_THAT(text, HasSubstr(PendingLine("m", "1", 0)));
  EXPECT_THAT(text, HasSubstr(PendingLine("m", "2", 0)));
  // Warm-up runs are not executions.
  EXPECT_THAT(text, HasSubstr(ExecutionsLine("m", "2", 0)));

  absl::StatusOr<std::shared_ptr<const ServedModel>> newest = repository->Find("m", "2");
  ASSERT_TRUE(newest.ok()) << newest.status();
  factory_.Hold("m");
  (*newest)->batcher->Enqueue(completions.Make("running"));
  factory_.WaitForExecutions("m", 3);  // two warm-ups, then "running" (held)
  (*newest)->batcher->Enqueue(completions.Make("queued"));
  text = (*catalog)->Expose();
  EXPECT_THAT(text, HasSubstr(PendingLine("m", "2", 1)));
  EXPECT_THAT(text, HasSubstr(PendingLine("m", "1", 0)));

  factory_.Release("m");
  completions.WaitFor(2);
  text = (*catalog)->Expose();
  EXPECT_THAT(text, HasSubstr(PendingLine("m", "2", 0)));
  EXPECT_THAT(text, HasSubstr(ExecutionsLine("m", "2", 2)));
  EXPECT_THAT(text, HasSubstr(ExecutionsLine("m", "1", 0)));
}

}  // namespace
}  // namespace speech
