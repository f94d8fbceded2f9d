#include "server/metrics/model/model_stats_executor.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "batcher/dynamic_batcher.h"
#include "gtest/gtest.h"
#include "server/metrics/catalog.h"
#include "tests/fakes/fake_executor.h"

namespace speech {
namespace {

// A real dynamic batcher over fake instances wrapped as the repository wraps real ones, and many
// client threads: every count the stats report must equal what the executors actually ran.
TEST(ModelStatsExecutorTest, CountsEveryBatchOnceUnderConcurrency) {
  MetricsCatalog::Options catalog_options;
  catalog_options.gpu_metrics = false;
  auto catalog = MetricsCatalog::Create(catalog_options);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  std::unique_ptr<ModelStats> stats = (*catalog)->AddModel("tts", "1", 8);

  std::vector<FakeExecutor*> fakes;
  std::vector<std::unique_ptr<BatchExecutor>> executors;
  for (int i = 0; i < 2; ++i) {
    auto fake = std::make_unique<FakeExecutor>();
    fakes.push_back(fake.get());
    executors.push_back(std::make_unique<ModelStatsExecutor>(std::move(fake), stats.get()));
  }
  fakes[0]->FailBatch(3, absl::InternalError("injected"));
  DynamicBatcher::Options options;
  options.model_name = "tts";
  options.max_batch_size = 8;
  options.dynamic_batching = true;
  auto batcher = DynamicBatcher::Create(options, std::move(executors));
  ASSERT_TRUE(batcher.ok()) << batcher.status();

  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::atomic<int64_t> ok_rows{0};
  std::atomic<int64_t> ok_requests{0};
  std::atomic<int64_t> failed_requests{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto request = std::make_unique<InferenceRequest>();
        request->id = absl::StrCat(t, "/", i);
        request->batch_rows = 1 + (t + i) % 3;  // 1, 2 or 3 rows
        const absl::Time start = absl::Now();
        request->on_complete = [&, start](std::unique_ptr<InferenceRequest> done,
                                          absl::Status status) {
          stats->RecordCompletion(*done, status, start, absl::Now());
          if (status.ok()) {
            ok_rows += done->batch_rows;
            ++ok_requests;
          } else {
            ++failed_requests;
          }
        };
        (*batcher)->Enqueue(std::move(request));
      }
    });
  }
  for (std::thread& client : clients) client.join();
  (*batcher)->Shutdown();  // returns once every accepted request completed

  int64_t ran_batches = 0;
  int64_t failed_batch_requests = 0;
  int64_t ran_rows = 0;
  for (FakeExecutor* fake : fakes) {
    const std::vector<FakeExecutor::Batch> batches = fake->batches();
    for (size_t i = 0; i < batches.size(); ++i) {
      if (fake == fakes[0] && i == 3) {
        failed_batch_requests = static_cast<int64_t>(batches[i].request_ids.size());
        continue;
      }
      ++ran_batches;
      ran_rows += batches[i].total_rows;
    }
  }
  ASSERT_GT(failed_batch_requests, 0);
  EXPECT_EQ(ok_requests + failed_requests, kThreads * kPerThread);
  EXPECT_EQ(failed_requests, failed_batch_requests);
  EXPECT_EQ(ran_rows, ok_rows.load());

  inference::ModelStatistics statistics;
  stats->Fill(&statistics);
  EXPECT_EQ(statistics.execution_count(), static_cast<uint64_t>(ran_batches));
  EXPECT_EQ(statistics.inference_count(), static_cast<uint64_t>(ok_rows.load()));
  EXPECT_EQ(statistics.inference_stats().success().count(),
            static_cast<uint64_t>(ok_requests.load()));
  EXPECT_EQ(statistics.inference_stats().fail().count(),
            static_cast<uint64_t>(failed_requests.load()));
  uint64_t batches_by_size = 0;
  uint64_t rows_by_size = 0;
  for (const inference::InferBatchStatistics& batch : statistics.batch_stats()) {
    EXPECT_GE(batch.batch_size(), 1u);
    EXPECT_LE(batch.batch_size(), 8u);
    batches_by_size += batch.compute_infer().count();
    rows_by_size += batch.batch_size() * batch.compute_infer().count();
  }
  EXPECT_EQ(batches_by_size, static_cast<uint64_t>(ran_batches));
  EXPECT_EQ(rows_by_size, static_cast<uint64_t>(ran_rows));

  const std::string exposition = (*catalog)->Expose();
  EXPECT_NE(exposition.find(absl::StrCat("speech_batch_size_count{model=\"tts\",version=\"1\"} ",
                                         ran_batches, "\n")),
            std::string::npos)
      << exposition;
  EXPECT_NE(exposition.find(absl::StrCat("speech_batch_size_sum{model=\"tts\",version=\"1\"} ",
                                         ran_rows, "\n")),
            std::string::npos);
  EXPECT_NE(exposition.find(absl::StrCat(
                "nv_inference_request_failure{model=\"tts\",version=\"1\",reason=\"BACKEND\"} ",
                failed_batch_requests, "\n")),
            std::string::npos);
}

}  // namespace
}  // namespace speech
