// SelectVersions: which version directories each version policy serves and in what order, and
// the errors for versions and directories that are not there.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/repository/config/config_test_support.h"
#include "server/repository/config/model_config.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// --- SelectVersions ----------------------------------------------------------------------------

// A model directory holding version directories 1, 2, 3 and 10, and entries that are not
// versions: directories "-1", "v5", "latest", "03" and "+4" (not canonical decimals: their
// version's path would not be theirs) and a file "4".
std::string ModelWithVersions() {
  const std::string directory = FreshDirectory("m");
  for (const char* version : {"10", "2", "1", "3", "-1", "v5", "latest", "03", "+4"}) {
    fs::create_directory(fs::path(directory) / version);
  }
  WriteFile(directory + "/4", "not a directory");
  WriteFile(directory + "/config.pbtxt", "");
  return directory;
}

std::vector<int64_t> Selected(const std::string& directory, const std::string& policy_text) {
  const inference::ModelConfig config = Parse(policy_text);
  absl::StatusOr<std::vector<int64_t>> versions = SelectVersions(directory, config);
  EXPECT_TRUE(versions.ok()) << versions.status();
  return versions.ok() ? *versions : std::vector<int64_t>{-100};
}

TEST(SelectVersionsTest, AllServesNumericDirectoriesInNumericOrder) {
  EXPECT_THAT(Selected(ModelWithVersions(), "version_policy { all {} }"), ElementsAre(1, 2, 3, 10));
}

TEST(SelectVersionsTest, LatestServesTheNewest) {
  const std::string directory = ModelWithVersions();
  EXPECT_THAT(Selected(directory, "version_policy { latest { num_versions: 1 } }"),
              ElementsAre(10));
  EXPECT_THAT(Selected(directory, "version_policy { latest { num_versions: 2 } }"),
              ElementsAre(3, 10));
  EXPECT_THAT(Selected(directory, "version_policy { latest { num_versions: 9 } }"),
              ElementsAre(1, 2, 3, 10));
}

TEST(SelectVersionsTest, NoPolicyServesTheNewestOne) {
  EXPECT_THAT(Selected(ModelWithVersions(), ""), ElementsAre(10));
  EXPECT_THAT(Selected(ModelWithVersions(), "version_policy { latest {} }"), ElementsAre(10));
}

TEST(SelectVersionsTest, SpecificServesTheListedInOrder) {
  EXPECT_THAT(Selected(ModelWithVersions(), "version_policy { specific { versions: [ 10, 2 ] } }"),
              ElementsAre(2, 10));
}

TEST(SelectVersionsTest, SpecificVersionListedTwiceServesOnce) {
  EXPECT_THAT(
      Selected(ModelWithVersions(), "version_policy { specific { versions: [ 2, 2, 1 ] } }"),
      ElementsAre(1, 2));
}

TEST(SelectVersionsTest, SpecificVersionWithoutDirectoryIsNotFound) {
  const inference::ModelConfig config = Parse("version_policy { specific { versions: [ 2, 4 ] } }");
  EXPECT_THAT(SelectVersions(ModelWithVersions(), config).status(),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("version_policy.specific: version 4 has no directory"),
                             HasSubstr("present: [1, 2, 3, 10]"))));
}

TEST(SelectVersionsTest, NoVersionDirectoryIsNotFound) {
  const std::string directory = FreshDirectory("m");
  fs::create_directory(fs::path(directory) / "v1");
  WriteFile(directory + "/1", "a file, not a version directory");
  EXPECT_THAT(
      SelectVersions(directory, Parse("version_policy { all {} }")).status(),
      StatusIs(absl::StatusCode::kNotFound, AllOf(HasSubstr(directory + ": no version directory"),
                                                  HasSubstr("(such as " + directory + "/1)"))));
}

TEST(SelectVersionsTest, MissingModelDirectoryIsNotFound) {
  const std::string directory = FreshDirectory("m") + "/absent";
  EXPECT_THAT(SelectVersions(directory, Parse("")).status(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("no version directory")));
}

}  // namespace
}  // namespace speech
