// A repository with broken models: each broken one is reported UNAVAILABLE with a reason naming
// the file, the field and the problem, while the good ones load and serve.
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/server_fixture.h"

namespace speech {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string ReadText(const fs::path& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

// Copies the default repository's `model` to `root/name`, with `edit` applied to its config.
void AddModel(const fs::path& root, const std::string& model, const std::string& name,
              const std::string& config, bool with_file = true) {
  const fs::path source = fs::path(kDefaultRepository) / model;
  WriteText(root / name / "config.pbtxt", config);
  if (with_file) {
    fs::create_directories(root / name / "1");
    fs::copy_file(source / "1" / "model.pt", root / name / "1" / "model.pt");
  }
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class RepositoryTest : public RealServerTest {
 protected:
  static void SetUpTestSuite() {
    root_ = new fs::path(fs::path(std::getenv("TEST_TMPDIR")) / "repository");
    const fs::path& root = *root_;
    const std::string identity = ReadText(fs::path(kDefaultRepository) / "identity/config.pbtxt");
    const std::string simple = ReadText(fs::path(kDefaultRepository) / "simple/config.pbtxt");
    AddModel(root, "identity", "identity", identity);
    AddModel(root, "identity", "unknown_field",
             Replace(identity, "name: \"identity\"", "name: \"unknown_field\"\nfoo: 1"));
    AddModel(root, "identity", "wrong_type",
             Replace(Replace(identity, "max_batch_size: 64", "max_batch_size: \"eight\""),
                     "name: \"identity\"", "name: \"wrong_type\""));
    AddModel(root, "identity", "missing_file",
             Replace(identity, "name: \"identity\"", "name: \"missing_file\""),
             /*with_file=*/false);
    fs::create_directories(root / "missing_file" / "1");
    AddModel(root, "simple", "dims_disagree",
             Replace(Replace(simple, "name: \"simple\"", "name: \"dims_disagree\""),
                     "name: \"OUTPUT1\"\n    data_type: TYPE_INT32\n    dims: [ 16 ]",
                     "name: \"OUTPUT1\"\n    data_type: TYPE_INT32\n    dims: [ 17 ]"));
    AddModel(root, "identity", "other_name", identity);
    // Triton's own FastPitch configuration, unchanged, next to our FastPitch graph.
    AddModel(root, "fastpitch", "FastPitch", ReadText("proto/testdata/fastpitch_triton_config.pbtxt"));

    StartServer(root.string());
  }

  static void TearDownTestSuite() {
    StopServer();
    delete root_;
  }

  // The index entry of `name` (state, reason); a failure when it is not listed.
  static inference::RepositoryIndexResponse::ModelIndex EntryOf(const std::string& name) {
    auto index = client_->RepositoryIndex();
    EXPECT_TRUE(index.ok()) << index.status();
    if (index.ok()) {
      for (const auto& model : index->models()) {
        if (model.name() == name) return model;
      }
    }
    ADD_FAILURE() << name << " is not in the index";
    return {};
  }

  // Why `name` is unavailable; a failure when it is not unavailable.
  static std::string ReasonOf(const std::string& name) {
    const inference::RepositoryIndexResponse::ModelIndex entry = EntryOf(name);
    EXPECT_EQ(entry.state(), "UNAVAILABLE") << name;
    return entry.reason();
  }

  static fs::path* root_;
};

fs::path* RepositoryTest::root_ = nullptr;

TEST_F(RepositoryTest, GoodModelServesWhileOthersFail) {
  auto ready = client_->ModelReady("identity");
  ASSERT_TRUE(ready.ok());
  EXPECT_TRUE(*ready);
  const HostTensor input{"INPUT0", "FP32", {1, 4}, std::string(16, '\x01')};
  auto response = client_->Infer(MakeInferRequest("identity", "", {input}, {}));
  ASSERT_TRUE(response.ok()) << response.status();
  auto server_ready = client_->ServerReady();
  ASSERT_TRUE(server_ready.ok());
  EXPECT_FALSE(*server_ready);
  auto health = client_->HealthCheck("");
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(*health, grpc::health::v1::HealthCheckResponse::NOT_SERVING);
}

TEST_F(RepositoryTest, UnknownFieldNamesFileLineAndField) {
  EXPECT_THAT(ReasonOf("unknown_field"),
              AllOf(HasSubstr("unknown_field/config.pbtxt:2:"), HasSubstr("\"foo\"")));
}

TEST_F(RepositoryTest, WrongTypeNamesFileAndField) {
  EXPECT_THAT(ReasonOf("wrong_type"),
              AllOf(HasSubstr("wrong_type/config.pbtxt:"), HasSubstr("max_batch_size")));
}

TEST_F(RepositoryTest, MissingModelFileNamesThePath) {
  EXPECT_THAT(ReasonOf("missing_file"),
              AllOf(HasSubstr("missing_file/1/model.pt"), HasSubstr("does not exist")));
}

TEST_F(RepositoryTest, DimsThatDisagreeWithTheModelAreNamed) {
  EXPECT_THAT(ReasonOf("dims_disagree"),
              AllOf(HasSubstr("output 'OUTPUT1'"), HasSubstr("dims [17]"),
                    HasSubstr("disagree with the model's output [16]")));
}

TEST_F(RepositoryTest, NameMustMatchDirectory) {
  EXPECT_THAT(ReasonOf("other_name"),
              AllOf(HasSubstr("other_name/config.pbtxt: name:"), HasSubstr("'identity'")));
}

TEST_F(RepositoryTest, TritonFastPitchConfigParsesAndReachesInstanceCreation) {
  // The configuration parses and validates unchanged: on a host where LibTorch sees a GPU it
  // loads; elsewhere its KIND_GPU instance group is the only thing that stops it (as in Triton).
  const inference::RepositoryIndexResponse::ModelIndex entry = EntryOf("FastPitch");
  if (entry.state() != "READY") {
    EXPECT_EQ(entry.state(), "UNAVAILABLE");
    EXPECT_THAT(entry.reason(), HasSubstr("asks for KIND_GPU but no GPU is visible"));
  }
}

TEST_F(RepositoryTest, UnavailableModelInferIsNotFoundWithReason) {
  const HostTensor input{"INPUT0", "FP32", {1, 4}, std::string(16, '\x01')};
  auto response = client_->Infer(MakeInferRequest("missing_file", "", {input}, {}));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(response.status().message()),
              AllOf(HasSubstr("model 'missing_file' is not ready"), HasSubstr("model.pt")));
}

}  // namespace
}  // namespace speech
