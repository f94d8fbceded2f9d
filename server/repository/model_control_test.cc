// Model control (Triton's --model-control-mode): the start-up set of mode explicit, LoadModel and
// UnloadModel, reloads that swap versions without failing requests, failures that leave the
// serving versions in place, config overrides, ensembles' steps, metrics across reloads, and
// mode poll's Poll and poller.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/metrics/catalog.h"
#include "server/repository/model_repository.h"
#include "server/repository/repository_poller.h"
#include "server/repository/repository_test_support.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

using ::testing::_;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

// Ensemble "pipe": one step, model "m".
constexpr char kPipe[] = R"pb(
  platform: "ensemble"
  max_batch_size: 8
  input {
    name: "IN"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
  output {
    name: "OUT"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
  ensemble_scheduling {
    step {
      model_name: "m"
      model_version: -1
      input_map { key: "INPUT0" value: "IN" }
      output_map { key: "OUTPUT0" value: "OUT" }
    }
  }
)pb";

class ModelControlTest : public ModelRepositoryTest {
 protected:
  std::unique_ptr<ModelRepository> LoadExplicit(std::vector<std::string> startup) {
    control_mode_ = ModelControlMode::kExplicit;
    startup_models_ = std::move(startup);
    return MustLoad();
  }

  // How many instances of `name` at `version` were created so far.
  int Loads(const std::string& name, int version) const {
    const std::vector<std::string> created = factory_.created();
    return static_cast<int>(std::count(created.begin(), created.end(), Placement(name, version)));
  }
};

// --- Mode explicit -------------------------------------------------------------------------------

TEST_F(ModelControlTest, ExplicitModeLoadsOnlyTheStartupModels) {
  AddModel("a", Identity());
  AddModel("b", Identity());
  std::unique_ptr<ModelRepository> repository = LoadExplicit({"a"});
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(repository->Index(),
              ElementsAre(Ready("a", "1"), Unavailable("b",
                                                       "not loaded (model control mode "
                                                       "explicit)")));
  EXPECT_TRUE(repository->AllReady());  // b was not asked for
  EXPECT_THAT(repository->Find("b", "").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("model 'b' is not loaded (model control mode explicit; load it "
                                 "with RepositoryModelLoad)")));

  ASSERT_TRUE(repository->LoadModel("b").ok());
  EXPECT_THAT(repository->Index(), ElementsAre(Ready("a", "1"), Ready("b", "1")));
  EXPECT_TRUE(repository->Find("b", "").ok());
}

TEST_F(ModelControlTest, StarLoadsEveryModelAtStartup) {
  AddModel("a", Identity());
  AddModel("b", Identity());
  std::unique_ptr<ModelRepository> repository = LoadExplicit({"*"});
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(repository->Index(), ElementsAre(Ready("a", "1"), Ready("b", "1")));
}

TEST_F(ModelControlTest, StartupModelWithoutDirectoryMakesTheServerNotReady) {
  AddModel("a", Identity());
  std::unique_ptr<ModelRepository> repository = LoadExplicit({"a", "ghost"});
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(repository->Index(),
              ElementsAre(Ready("a", "1"), Unavailable("ghost", HasSubstr("has no directory"))));
  EXPECT_FALSE(repository->AllReady());
}

TEST_F(ModelControlTest, LoadOfAModelWithoutDirectoryIsNotFound) {
  std::unique_ptr<ModelRepository> repository = LoadExplicit({});
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(repository->LoadModel("ghost"),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("model 'ghost' has no directory"), HasSubstr(root_))));
  EXPECT_THAT(repository->LoadModel("../a"), StatusIs(absl::StatusCode::kNotFound, _));
  EXPECT_THAT(repository->Index(), IsEmpty());
}

TEST_F(ModelControlTest, UnloadRefusesNewRequestsAndFinishesTheOnesItHolds) {
  AddModel("m", Identity());
  std::unique_ptr<ModelRepository> repository = LoadExplicit({"m"});
  ASSERT_NE(repository, nullptr);
  Completions completions;
  absl::StatusOr<std::shared_ptr<const ServedModel>> held = repository->Find("m", "");
  ASSERT_TRUE(held.ok()) << held.status();
  factory_.Hold("m");
  (*held)->batcher->Enqueue(completions.Make("in flight"));
  factory_.WaitForExecutions("m", 2);  // warm-up, then the request (held)

  ASSERT_TRUE(repository->UnloadModel("m").ok());
  EXPECT_THAT(repository->Find("m", "").status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("model 'm' is not ready: unloaded")));
  EXPECT_THAT(repository->Index(), ElementsAre(Unavailable("m", "unloaded")));
  EXPECT_TRUE(repository->AllReady());  // unloaded on purpose
  EXPECT_THAT(repository->UnloadModel("m"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("it is not loaded")));

  // The version still serves what it holds, and goes once the last holder lets go.
  factory_.Release("m");
  completions.WaitFor(1);
  EXPECT_TRUE(completions.outcomes()[0].status.ok()) << completions.outcomes()[0].status;
  held->reset();
  repository->WaitForRetiredVersions();
}

TEST_F(ModelControlTest, ReloadWithANewVersionSwapsAndTheOldOneFinishesItsRequests) {
  AddModel("m", Identity());
  std::unique_ptr<ModelRepository> repository = LoadExplicit({"m"});
  ASSERT_NE(repository, nullptr);
  absl::StatusOr<std::shared_ptr<const ServedModel>> old_version = repository->Find("m", "");
  ASSERT_TRUE(old_version.ok());

  AddModel("m", Identity(), {2});
  ASSERT_TRUE(repository->LoadModel("m").ok());
  EXPECT_THAT(repository->Versions("m"), ElementsAre(Served("m", 2)));
  EXPECT_THAT(repository->Index(), ElementsAre(Ready("m", "2")));
  EXPECT_EQ(Loads("m", 2), 1);

  // A request that found version 1 before the swap still completes on it.
  Completions completions;
  (*old_version)->batcher->Enqueue(completions.Make("late"));
  completions.WaitFor(1);
  EXPECT_TRUE(completions.outcomes()[0].status.ok()) << completions.outcomes()[0].status;
}

TEST_F(ModelControlTest, ReloadKeepsVersionsWhoseFilesDidNotChange) {
  AddModel("m", Identity("version_policy { all {} }"), {1});
  std::unique_ptr<ModelRepository> repository = LoadExplicit({"m"});
  ASSERT_NE(repository, nullptr);
  absl::StatusOr<std::shared_ptr<const ServedModel>> first = repository->Find("m", "1");
  ASSERT_TRUE(first.ok());

  AddModel("m", Identity("version_policy { all {} }"), {2});
  ASSERT_TRUE(repository->LoadModel("m").ok());
  EXPECT_THAT(repository->Versions("m"), ElementsAre(Served("m", 1), Served("m", 2)));
  EXPECT_EQ(Loads("m", 1), 1);  // not loaded again
  EXPECT_EQ(*repository->Find("m", "1"), *first);
}

TEST_F(ModelControlTest, ChangedConfigurationReloadsEveryVersion) {
  AddModel("m", Identity());
  std::unique_ptr<ModelRepository> repository = LoadExplicit({"m"});
  ASSERT_NE(repository, nullptr);
  AddModel("m", Identity("dynamic_batching { max_queue_delay_microseconds: 100 }"), {});
  ASSERT_TRUE(repository->LoadModel("m").ok());
  EXPECT_EQ(Loads("m", 1), 2);
  absl::StatusOr<std::shared_ptr<const ServedModel>> model = repository->Find("m", "");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->config.dynamic_batching().max_queue_delay_microseconds(), 100);
}

TEST_F(ModelControlTest, FailedReloadLeavesTheServingVersionAndSaysWhy) {
  AddModel("m", Identity());
  std::unique_ptr<ModelRepository> repository = LoadExplicit({"m"});
  ASSERT_NE(repository, nullptr);
  AddModel("m", Identity("max_batch_size: -3\n"), {});
  EXPECT_THAT(repository->LoadModel("m"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("m/config.pbtxt")));
  EXPECT_THAT(repository->Versions("m"), ElementsAre(Served("m", 1)));
  EXPECT_THAT(repository->Index(),
              ElementsAre(Ready("m", "1"), Unavailable("m", HasSubstr("m/config.pbtxt"))));
  EXPECT_TRUE(repository->AllReady());  // still serving

  // A version that cannot load is reported the same way.
  AddModel("m", Identity(), {});
  AddModel("m", Identity(), {2});
  factory_.FailLoadsOf("/m/2/", absl::InternalError("weights corrupt"));
  EXPECT_THAT(repository->LoadModel("m"),
              StatusIs(absl::StatusCode::kInternal,
                       AllOf(HasSubstr("version 2"), HasSubstr("weights corrupt"))));
  EXPECT_THAT(repository->Versions("m"), ElementsAre(Served("m", 1)));
}

TEST_F(ModelControlTest, ConfigOverrideReplacesConfigPbtxt) {
  AddModel("m", Identity());
  std::unique_ptr<ModelRepository> repository = LoadExplicit({});
  ASSERT_NE(repository, nullptr);
  const std::string override_json = R"({
    "platform": "pytorch_libtorch", "max_batch_size": 2,
    "input": [{"name": "INPUT0", "data_type": "TYPE_FP32", "dims": [4]}],
    "output": [{"name": "OUTPUT0", "data_type": "TYPE_FP32", "dims": [4]}]})";
  ASSERT_TRUE(repository->LoadModel("m", override_json).ok());
  absl::StatusOr<std::shared_ptr<const ServedModel>> model = repository->Find("m", "");
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->config.max_batch_size(), 2);

  EXPECT_THAT(repository->LoadModel("m", "{not json"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the config override of model 'm' is not a model configuration "
                                 "in JSON")));
  EXPECT_THAT(repository->LoadModel("m", R"({"max_batch_size": "many"})"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("config override")));
  EXPECT_THAT(
      repository->LoadModel("m", R"({"platform": "pytorch_libtorch", "max_batch_size": -1})"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("the config override of model 'm'"), HasSubstr("max_batch_size"))));
  // Still the override's version.
  EXPECT_EQ((*repository->Find("m", ""))->config.max_batch_size(), 2);
}

TEST_F(ModelControlTest, LoadingAnEnsembleLoadsItsStepModels) {
  AddModel("m", Identity());
  AddModel("pipe", kPipe);
  std::unique_ptr<ModelRepository> repository = LoadExplicit({"pipe"});
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(repository->Index(), ElementsAre(Ready("m", "1"), Ready("pipe", "1")));

  // Unloading the step model with its dependents takes the ensemble too.
  ASSERT_TRUE(repository->UnloadModel("m", /*unload_dependents=*/true).ok());
  EXPECT_THAT(repository->Index(),
              ElementsAre(Unavailable("m", "unloaded"), Unavailable("pipe", "unloaded")));
}

TEST_F(ModelControlTest, LoadAfterShutdownIsUnavailable) {
  AddModel("m", Identity());
  std::unique_ptr<ModelRepository> repository = LoadExplicit({});
  ASSERT_NE(repository, nullptr);
  repository->Shutdown();
  EXPECT_THAT(repository->LoadModel("m"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("shutting down")));
}

// --- Metrics across reloads
// ------------------------------------------------------------------------

TEST_F(ModelControlTest, AReplacedVersionLeavesTheQueueDepthExposition) {
  MetricsCatalog::Options metrics_options;
  metrics_options.gpu_metrics = false;
  absl::StatusOr<std::unique_ptr<MetricsCatalog>> catalog = MetricsCatalog::Create(metrics_options);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  AddModel("m", Identity());
  control_mode_ = ModelControlMode::kExplicit;
  startup_models_ = {"m"};
  std::unique_ptr<ModelRepository> repository = MustLoad(catalog->get());
  ASSERT_NE(repository, nullptr);
  const std::string v1 = "nv_inference_pending_request_count{model=\"m\",version=\"1\"}";
  const std::string v2 = "nv_inference_pending_request_count{model=\"m\",version=\"2\"}";
  EXPECT_THAT((*catalog)->Expose(), AllOf(HasSubstr(v1), Not(HasSubstr(v2))));

  AddModel("m", Identity(), {2});
  ASSERT_TRUE(repository->LoadModel("m").ok());
  repository->WaitForRetiredVersions();
  EXPECT_THAT((*catalog)->Expose(), AllOf(Not(HasSubstr(v1)), HasSubstr(v2)));
}

// --- Mode poll ---------------------------------------------------------------------------------

TEST_F(ModelControlTest, PollLoadsNewReloadsChangedAndUnloadsRemovedDirectories) {
  AddModel("changed", Identity());
  AddModel("gone", Identity());
  AddModel("same", Identity());
  control_mode_ = ModelControlMode::kPoll;
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);

  AddModel("changed", Identity(), {2});
  fs::remove_all(fs::path(root_) / "gone");
  AddModel("new", Identity());
  repository->Poll();
  EXPECT_THAT(repository->Index(),
              ElementsAre(Ready("changed", "2"), Ready("new", "1"), Ready("same", "1")));
  EXPECT_EQ(Loads("same", 1), 1);  // left alone

  // Removing the old version directory changes nothing that serves.
  fs::remove_all(fs::path(root_) / "changed" / "1");
  repository->Poll();
  EXPECT_EQ(Loads("changed", 2), 1);
  EXPECT_THAT(repository->Versions("changed"), ElementsAre(Served("changed", 2)));
}

TEST_F(ModelControlTest, PollRetriesAFailedModelOnceItsFilesChange) {
  AddModel("m", Identity("max_batch_size: -1\n"));
  control_mode_ = ModelControlMode::kPoll;
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_FALSE(repository->AllReady());
  repository->Poll();  // unchanged: still failing, not retried
  EXPECT_THAT(repository->Index(), ElementsAre(Unavailable("m", HasSubstr("max_batch_size"))));

  AddModel("m", Identity(), {});
  repository->Poll();
  EXPECT_THAT(repository->Index(), ElementsAre(Ready("m", "1")));
  EXPECT_TRUE(repository->AllReady());
}

TEST_F(ModelControlTest, PollerPicksUpANewDirectory) {
  control_mode_ = ModelControlMode::kPoll;
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  RepositoryPoller::Options options;
  options.period = absl::Milliseconds(1);
  absl::StatusOr<std::unique_ptr<RepositoryPoller>> poller =
      RepositoryPoller::Create(repository.get(), options);
  ASSERT_TRUE(poller.ok()) << poller.status();
  AddModel("m", Identity());
  // Two polls that began after the directory was complete.
  const int seen = (*poller)->polls();
  while ((*poller)->polls() < seen + 2) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_TRUE(repository->Find("m", "").ok());
  (*poller)->Stop();
  (*poller)->Stop();  // idempotent
}

TEST(RepositoryPollerTest, PeriodMustBePositive) {
  RepositoryPoller::Options options;
  options.period = absl::ZeroDuration();
  EXPECT_THAT(RepositoryPoller::Create(nullptr, options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("the repository poll period must be positive; was 0")));
}

}  // namespace
}  // namespace speech
