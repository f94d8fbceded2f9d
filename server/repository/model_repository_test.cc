// ModelRepository::Load on repositories a test writes, on fake instances: what loads and in what
// order, models that fail to load without taking the others down, version policies, instance
// placement and warm-up.
#include "server/repository/model_repository.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/repository/repository_test_support.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pointee;

// --- Loading -------------------------------------------------------------------------------------

TEST_F(ModelRepositoryTest, LoadsGoodModels) {
  // Created out of name order: the index and AllVersions still list by name, then version.
  AddModel("beta", Identity(), {3});
  AddModel("alpha", Identity("version_policy { all {} }"), {1, 2});
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);

  EXPECT_THAT(repository->Index(),
              ElementsAre(Ready("alpha", "1"), Ready("alpha", "2"), Ready("beta", "3")));
  EXPECT_TRUE(repository->AllReady());
  EXPECT_THAT(repository->AllVersions(),
              ElementsAre(Served("alpha", 1), Served("alpha", 2), Served("beta", 3)));
  EXPECT_THAT(repository->Versions("alpha"), ElementsAre(Served("alpha", 1), Served("alpha", 2)));
  EXPECT_THAT(repository->Versions("beta"), ElementsAre(Served("beta", 3)));
  EXPECT_THAT(repository->Versions("gamma"), IsEmpty());

  absl::StatusOr<std::shared_ptr<const ServedModel>> first = repository->Find("alpha", "1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_THAT(*first, Served("alpha", 1));
  absl::StatusOr<std::shared_ptr<const ServedModel>> newest = repository->Find("alpha", "");
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_THAT(*newest, Served("alpha", 2));
  absl::StatusOr<std::shared_ptr<const ServedModel>> beta = repository->Find("beta", "3");
  ASSERT_TRUE(beta.ok()) << beta.status();
  EXPECT_THAT(*beta, Served("beta", 3));

  // The served configuration is the validated one, with its defaults.
  const ServedModel& model = **beta;
  EXPECT_EQ(model.config.name(), "beta");
  EXPECT_EQ(model.config.backend(), "pytorch");
  EXPECT_EQ(model.config.default_model_filename(), "model.pt");
  EXPECT_NE(model.batcher, nullptr);
  EXPECT_EQ(model.stats, nullptr);  // loaded without metrics
}

TEST_F(ModelRepositoryTest, EmptyRepositoryLoadsNothing) {
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(repository->Index(), IsEmpty());
  EXPECT_THAT(repository->AllVersions(), IsEmpty());
  EXPECT_TRUE(repository->AllReady());
  EXPECT_THAT(repository->Find("m", "").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("Request for unknown model: 'm' is not in the repository")));
}

TEST_F(ModelRepositoryTest, FilesBesideModelDirectoriesAreIgnored) {
  AddModel("m", Identity());
  WriteFile(fs::path(root_) / "README.md", "not a model");
  // Hidden directories (a checkout's .git, an editor's state) are not models either.
  fs::create_directories(fs::path(root_) / ".git" / "1");
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(repository->Index(), ElementsAre(Ready("m", "1")));
}

TEST_F(ModelRepositoryTest, OptionsWithoutInstanceFactoryAreRefused) {
  AddModel("m", Identity());
  ModelRepository::Options options;
  options.clock = &clock_;
  EXPECT_THAT(ModelRepository::Load(root_, options).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("ModelRepository::Options::instances must be set")));
  EXPECT_THAT(factory_.created(), IsEmpty());
}

TEST_F(ModelRepositoryTest, PathThatIsNotADirectoryIsNotFound) {
  ModelRepository::Options options;
  options.instances = &factory_;
  options.clock = &clock_;
  const std::string absent = root_ + "/absent";
  EXPECT_THAT(ModelRepository::Load(absent, options).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("model repository '" + absent + "' is not a readable directory")));
  const std::string file = root_ + "/file";
  WriteFile(file, "a file");
  EXPECT_THAT(ModelRepository::Load(file, options).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("model repository '" + file + "' is not a readable directory")));
}

// --- Models that do not load ---------------------------------------------------------------------

// Expects `repository` to hold "good" at version 1 and `broken` as UNAVAILABLE for `reason`, and
// Find on `broken` to give that reason.
template <typename ReasonMatcher>
void ExpectOnlyBroken(const ModelRepository& repository, const std::string& broken,
                      ReasonMatcher reason) {
  EXPECT_FALSE(repository.AllReady());
  EXPECT_THAT(repository.Index(),
              ::testing::UnorderedElementsAre(Ready("good", "1"), Unavailable(broken, reason)));
  EXPECT_THAT(repository.AllVersions(), ElementsAre(Served("good", 1)));
  EXPECT_THAT(repository.Versions(broken), IsEmpty());
  EXPECT_TRUE(repository.Find("good", "").ok());
  EXPECT_THAT(
      repository.Find(broken, "").status(),
      StatusIs(absl::StatusCode::kNotFound,
               AllOf(HasSubstr(absl::StrCat("model '", broken, "' is not ready: ")), reason)));
}

TEST_F(ModelRepositoryTest, InvalidConfigMakesOnlyThatModelUnavailable) {
  AddModel("good", Identity());
  AddModel("broken", "platform: \"pytorch_libtorch\"\nmax_batch_size: -1\n");
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken",
                   HasSubstr(root_ + "/broken/config.pbtxt: max_batch_size: must be >= 0; got -1"));
  EXPECT_THAT(factory_.created(), ElementsAre(Placement("good", 1)));
}

TEST_F(ModelRepositoryTest, UnparsableConfigMakesOnlyThatModelUnavailable) {
  AddModel("good", Identity());
  AddModel("broken", "platform: \"pytorch_libtorch\"\nmax_batch_size: eight\n");
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken",
                   AllOf(HasSubstr(root_ + "/broken/config.pbtxt:2:17: "),
                         HasSubstr("(in `max_batch_size: eight`)")));
}

TEST_F(ModelRepositoryTest, MissingConfigMakesOnlyThatModelUnavailable) {
  AddModel("good", Identity());
  fs::create_directories(fs::path(root_) / "broken" / "1");
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken",
                   HasSubstr(root_ + "/broken/config.pbtxt: file not found"));
}

TEST_F(ModelRepositoryTest, MissingModelFileMakesOnlyThatModelUnavailable) {
  AddModel("good", Identity());
  AddModel("broken", Identity(), {});
  fs::create_directories(fs::path(root_) / "broken" / "1");
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken",
                   AllOf(HasSubstr(root_ + "/broken version 1: "),
                         HasSubstr(root_ + "/broken/1/model.pt"), HasSubstr("does not exist")));
}

TEST_F(ModelRepositoryTest, MissingVersionDirectoryMakesOnlyThatModelUnavailable) {
  AddModel("good", Identity());
  AddModel("broken", Identity(), {});
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken", HasSubstr(root_ + "/broken: no version directory"));
}

TEST_F(ModelRepositoryTest, FactoryFailureMakesOnlyThatModelUnavailable) {
  AddModel("good", Identity());
  AddModel("broken", Identity());
  factory_.FailLoadsOf("/broken/1/", absl::ResourceExhaustedError("CUDA out of memory"));
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken",
                   HasSubstr(root_ + "/broken version 1: CUDA out of memory"));
  EXPECT_THAT(factory_.created(), ElementsAre(Placement("good", 1)));
}

TEST_F(ModelRepositoryTest, OneFailingVersionMakesTheWholeModelUnavailable) {
  AddModel("good", Identity());
  AddModel("broken", Identity("version_policy { all {} }"), {1, 2});
  factory_.FailLoadsOf("/broken/2/", absl::InternalError("corrupt archive"));
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken", HasSubstr(root_ + "/broken version 2: corrupt archive"));
}

TEST_F(ModelRepositoryTest, UnknownModelAndVersionAreNotFound) {
  AddModel("m", Identity("version_policy { all {} }"), {1, 2});
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(repository->Find("nope", "").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("Request for unknown model: 'nope' is not in the repository")));
  EXPECT_THAT(repository->Find("m", "7").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("model 'm' has no version '7'; loaded versions: [1, 2]")));
}

// --- What loads ----------------------------------------------------------------------------------

TEST_F(ModelRepositoryTest, VersionPolicySelectsVersionDirectories) {
  AddModel("all", Identity("version_policy { all {} }"), {1, 2, 3});
  AddModel("latest", Identity(), {1, 2, 3});
  AddModel("latest_two", Identity("version_policy { latest { num_versions: 2 } }"), {1, 2, 3});
  AddModel("specific", Identity("version_policy { specific { versions: [ 3, 1 ] } }"), {1, 2, 3});
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(
      factory_.created(),
      ElementsAre(Placement("all", 1), Placement("all", 2), Placement("all", 3),
                  Placement("latest", 3), Placement("latest_two", 2), Placement("latest_two", 3),
                  Placement("specific", 1), Placement("specific", 3)));
  EXPECT_THAT(repository->Versions("specific"),
              ElementsAre(Served("specific", 1), Served("specific", 3)));
  EXPECT_TRUE(repository->AllReady());
}

TEST_F(ModelRepositoryTest, SpecificVersionWithoutDirectoryIsUnavailable) {
  AddModel("good", Identity());
  AddModel("broken", Identity("version_policy { specific { versions: [ 1, 4 ] } }"), {1, 2});
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken",
                   AllOf(HasSubstr("version_policy.specific: version 4 has no directory"),
                         HasSubstr("present: [1, 2]")));
}

TEST_F(ModelRepositoryTest, DefaultModelFilenameNamesTheFileLoaded) {
  AddModel("m", Identity("default_model_filename: \"traced.pt\""), {1}, "traced.pt");
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(factory_.created(), ElementsAre(Placement("m", 1, "cpu", "traced.pt")));
}

TEST_F(ModelRepositoryTest, InstanceGroupCountCreatesThatManyInstances) {
  AddModel("m", Identity("instance_group { count: 3 kind: KIND_CPU }"));
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(factory_.created(),
              ElementsAre(Placement("m", 1), Placement("m", 1), Placement("m", 1)));
  // Each instance is warmed up.
  EXPECT_THAT(factory_.batch_rows("m"), ElementsAre(8, 8, 8));
}

TEST_F(ModelRepositoryTest, GpuInstancesWithoutVisibleGpuAreUnavailable) {
  AddModel("good", Identity());
  AddModel("broken", Identity("instance_group { count: 2 kind: KIND_GPU }"));
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken",
                   AllOf(HasSubstr(root_ + "/broken version 1: "),
                         HasSubstr("asks for KIND_GPU but no GPU is visible")));
  EXPECT_THAT(factory_.created(), ElementsAre(Placement("good", 1)));
}

TEST_F(ModelRepositoryTest, GpuInstancesGoOnTheVisibleGpu) {
  factory_.set_visible_gpus(1);
  AddModel("m", Identity("instance_group { count: 2 kind: KIND_GPU }"));
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(factory_.created(),
              ElementsAre(Placement("m", 1, "cuda:0"), Placement("m", 1, "cuda:0")));
  EXPECT_TRUE(repository->AllReady());
}

TEST_F(ModelRepositoryTest, AutoInstancesFollowTheVisibleGpus) {
  factory_.set_visible_gpus(2);
  AddModel("m", Identity("instance_group { count: 1 kind: KIND_AUTO }"));
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(factory_.created(),
              ElementsAre(Placement("m", 1, "cuda:0"), Placement("m", 1, "cuda:1")));
}

// --- Warm-up -------------------------------------------------------------------------------------

TEST_F(ModelRepositoryTest, DefaultWarmUpRunsAtLoad) {
  AddModel("m", Identity());
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  // One batch of max_batch_size rows, before any request.
  EXPECT_THAT(factory_.batch_rows("m"), ElementsAre(8));
}

TEST_F(ModelRepositoryTest, ConfiguredWarmUpRunsAtLoad) {
  AddModel("m", Identity(R"pb(
             model_warmup {
               name: "pairs"
               batch_size: 2
               count: 3
               inputs {
                 key: "INPUT0"
                 value {
                   data_type: TYPE_FP32
                   dims: [ 4 ]
                   zero_data: true
                 }
               }
             }
           )pb"));
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  EXPECT_THAT(factory_.batch_rows("m"), ElementsAre(2, 2, 2));
  EXPECT_TRUE(repository->AllReady());
}

TEST_F(ModelRepositoryTest, WarmUpFailureMakesTheModelUnavailable) {
  AddModel("good", Identity());
  AddModel("broken", Identity());
  factory_.FailExecutionsOf("broken", absl::InternalError("kernel crashed"));
  std::unique_ptr<ModelRepository> repository = MustLoad();
  ASSERT_NE(repository, nullptr);
  ExpectOnlyBroken(*repository, "broken",
                   AllOf(HasSubstr(root_ + "/broken version 1: "),
                         HasSubstr("warm-up 'default' failed: kernel crashed")));
}

}  // namespace
}  // namespace speech
