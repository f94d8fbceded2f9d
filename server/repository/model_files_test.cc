// Reading model directories and planning a poll: what appeared, changed or went away.
#include "server/repository/model_files.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

class ModelFilesTest : public ::testing::Test {
 protected:
  ModelFilesTest() {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = (fs::path(::testing::TempDir()) / "model_files_test" / test->name()).string();
    fs::remove_all(root_);
    fs::create_directories(root_);
  }

  void Write(const std::string& relative, const std::string& contents) {
    const fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary | std::ios::trunc) << contents;
  }

  std::string root_;
};

TEST_F(ModelFilesTest, ListsModelDirectoriesInNameOrderWithoutHiddenOnesOrFiles) {
  Write("b/config.pbtxt", "");
  Write("a/config.pbtxt", "");
  Write(".git/config", "");
  Write("README", "");
  EXPECT_THAT(ListModelDirectories(root_), ElementsAre("a", "b"));
  EXPECT_THAT(ListModelDirectories(root_ + "/missing"), IsEmpty());
}

TEST_F(ModelFilesTest, ReadsTheConfigAndEachNumericVersionDirectory) {
  Write("m/config.pbtxt", "max_batch_size: 8\n");
  Write("m/1/model.pt", "one");
  Write("m/2/model.pt", "two!");
  Write("m/2/extra/vocab.txt", "abc");
  Write("m/01/model.pt", "not a canonical version");
  Write("m/notes/x", "not a version");
  const ModelFiles files = ReadModelFiles(root_, "m");
  EXPECT_EQ(files.config_text, "max_batch_size: 8\n");
  ASSERT_THAT(files.versions, SizeIs(2));
  EXPECT_THAT(files.versions.at(1), ::testing::StartsWith("model.pt 3 "));
  EXPECT_THAT(files.versions.at(2), ::testing::HasSubstr("extra/vocab.txt 3 "));
  EXPECT_THAT(files.versions.at(2), ::testing::HasSubstr("model.pt 4 "));
}

TEST_F(ModelFilesTest, AnyChangeOfConfigOrVersionFilesShows) {
  Write("m/config.pbtxt", "a");
  Write("m/1/model.pt", "one");
  const ModelFiles before = ReadModelFiles(root_, "m");
  EXPECT_EQ(ReadModelFiles(root_, "m"), before);

  Write("m/1/model.pt", "one plus");  // a rewritten model file
  const ModelFiles rewritten = ReadModelFiles(root_, "m");
  EXPECT_NE(rewritten, before);

  Write("m/2/model.pt", "two");  // a new version
  const ModelFiles added = ReadModelFiles(root_, "m");
  EXPECT_NE(added, rewritten);

  Write("m/config.pbtxt", "b");  // a new configuration
  EXPECT_NE(ReadModelFiles(root_, "m"), added);
}

TEST(PlanRepositoryChangesTest, SortsDirectoriesIntoLoadReloadAndUnload) {
  ModelFiles one;
  one.config_text = "1";
  ModelFiles two;
  two.config_text = "2";
  const std::map<std::string, ModelFiles> loaded = {
      {"changed", one}, {"gone", one}, {"same", one}, {"same_failed", two}};
  const std::map<std::string, ModelFiles> found = {
      {"changed", two}, {"new", one}, {"same", one}, {"same_failed", two}};
  const RepositoryChanges changes = PlanRepositoryChanges(loaded, found);
  EXPECT_THAT(changes.load, ElementsAre("new"));
  EXPECT_THAT(changes.reload, ElementsAre("changed"));
  EXPECT_THAT(changes.unload, ElementsAre("gone"));
}

TEST(PlanRepositoryChangesTest, NothingToDoWhenNothingChanged) {
  const std::map<std::string, ModelFiles> same = {{"a", ModelFiles()}, {"b", ModelFiles()}};
  const RepositoryChanges changes = PlanRepositoryChanges(same, same);
  EXPECT_THAT(changes.load, IsEmpty());
  EXPECT_THAT(changes.reload, IsEmpty());
  EXPECT_THAT(changes.unload, IsEmpty());
  const RepositoryChanges from_nothing = PlanRepositoryChanges({}, same);
  EXPECT_THAT(from_nothing.load, ElementsAre("a", "b"));
}

}  // namespace
}  // namespace speech
