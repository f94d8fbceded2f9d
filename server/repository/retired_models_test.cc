// RetiredModels: a version is freed (its batcher stopped) once its last holder lets go, even when
// that holder is one of the version's own worker threads finishing a request.
#include "server/repository/retired_models.h"

#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "batcher/dynamic_batcher.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_executor.h"

namespace speech {
namespace {

// A version with a one-instance batcher on `executor`.
std::unique_ptr<ServedModel> VersionOn(std::unique_ptr<FakeExecutor> executor) {
  auto model = std::make_unique<ServedModel>();
  model->name = "m";
  model->version = 1;
  model->version_string = "1";
  std::vector<std::unique_ptr<BatchExecutor>> executors;
  executors.push_back(std::move(executor));
  DynamicBatcher::Options options;
  options.model_name = "m";
  absl::StatusOr<std::unique_ptr<DynamicBatcher>> batcher =
      DynamicBatcher::Create(options, std::move(executors));
  EXPECT_TRUE(batcher.ok()) << batcher.status();
  if (batcher.ok()) model->batcher = *std::move(batcher);
  return model;
}

TEST(RetiredModelsTest, VersionIsFreedWhenItsLastHolderLetsGo) {
  std::shared_ptr<RetiredModels> retired = RetiredModels::Create();
  std::shared_ptr<ServedModel> first = retired->Share(VersionOn(std::make_unique<FakeExecutor>()));
  std::shared_ptr<ServedModel> second = first;
  first.reset();
  retired->WaitUntilIdle();
  EXPECT_EQ(retired->freed(), 0);  // `second` still holds it
  std::thread([held = std::move(second)]() mutable { held.reset(); }).join();
  retired->WaitUntilIdle();
  EXPECT_EQ(retired->freed(), 1);
}

TEST(RetiredModelsTest, VersionReleasedByItsOwnWorkerThreadIsFreedElsewhere) {
  std::shared_ptr<RetiredModels> retired = RetiredModels::Create();
  auto executor = std::make_unique<FakeExecutor>();
  std::shared_ptr<ServedModel> model = retired->Share(VersionOn(std::move(executor)));
  absl::Notification completed;
  auto request = std::make_unique<InferenceRequest>();
  request->id = "last";
  request->batch_rows = 1;
  std::string& bytes = request->owned_data.emplace_back(4, 'x');
  request->inputs.push_back({"INPUT0", inference::TYPE_UINT8, {4}, bytes.data(), bytes.size()});
  // The completion holds the version; once the test lets go, it is the last holder, and it
  // lets go on the batcher's worker thread, which must not be the one to stop the batcher.
  request->on_complete = [held = model, &completed](std::unique_ptr<InferenceRequest>,
                                                    absl::Status) { completed.Notify(); };
  DynamicBatcher* const batcher = model->batcher.get();
  model.reset();
  batcher->Enqueue(std::move(request));
  completed.WaitForNotification();
  // Freed on the retirement thread (a self-join would have aborted the process).
  while (retired->freed() == 0) retired->WaitUntilIdle();
  EXPECT_EQ(retired->freed(), 1);
}

TEST(RetiredModelsTest, AfterStopVersionsAreFreedWhereTheyAreReleased) {
  std::shared_ptr<RetiredModels> retired = RetiredModels::Create();
  std::shared_ptr<ServedModel> model = retired->Share(VersionOn(std::make_unique<FakeExecutor>()));
  retired->Stop();
  retired->Stop();  // idempotent
  model.reset();    // freed here, on the test thread
  EXPECT_EQ(retired->freed(), 0);
}

}  // namespace
}  // namespace speech
