// speech_client, the command-line tool users run first, against the real server serving the
// default repository: every command a user would try, with its exit code and what it prints.
#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

class SpeechClientE2eTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = ServerProcess::Start(
        "server/speech_server",
        {absl::StrCat("--model-repository=", kDefaultRepository), "--allow-metrics=false"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
  }

  static void TearDownTestSuite() {
    if (server_ != nullptr) EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    delete server_;
    server_ = nullptr;
  }

  // Runs the client binary (a data dependency, relative to the runfiles directory).
  static Result Run(const std::string& args) {
    const std::string command =
        absl::StrCat("client/cli/speech_client --url=", server_->grpc_target(), " ", args, " 2>&1");
    std::FILE* pipe = popen(command.c_str(), "r");
    Result result{-1, ""};
    if (pipe == nullptr) return result;
    char buffer[4096];
    size_t read;
    while ((read = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) {
      result.output.append(buffer, read);
    }
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
  }

  static inline ServerProcess* server_ = nullptr;
};

TEST_F(SpeechClientE2eTest, HealthAndReadiness) {
  EXPECT_EQ(Run("live").output, "live: true\n");
  Result ready = Run("ready");
  EXPECT_EQ(ready.exit_code, 0) << ready.output;
  EXPECT_EQ(Run("ready fastpitch").output, "fastpitch ready: true\n");
  Result missing = Run("ready no_such_model");
  EXPECT_EQ(missing.exit_code, 3) << missing.output;
  Result health = Run("health");
  EXPECT_EQ(health.exit_code, 0) << health.output;
  EXPECT_EQ(health.output, "health: SERVING\n");
}

TEST_F(SpeechClientE2eTest, MetadataConfigIndexAndStatistics) {
  Result metadata = Run("model-metadata wav2vec2");
  EXPECT_EQ(metadata.exit_code, 0) << metadata.output;
  EXPECT_THAT(metadata.output,
              AllOf(HasSubstr("name: \"wav2vec2\""), HasSubstr("datatype: \"FP32\"")));
  Result config = Run("model-config fastpitch");
  EXPECT_EQ(config.exit_code, 0) << config.output;
  EXPECT_THAT(config.output, HasSubstr("max_batch_size: "));
  Result index = Run("index");
  EXPECT_EQ(index.exit_code, 0) << index.output;
  for (const char* model : {"identity", "simple", "fastpitch", "wav2vec2"}) {
    EXPECT_THAT(index.output, HasSubstr(absl::StrCat("name: \"", model, "\""))) << index.output;
  }
  EXPECT_THAT(index.output, HasSubstr("state: \"READY\""));
  Result unknown = Run("model-config no_such_model");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.output,
              HasSubstr("error: NOT_FOUND: Request for unknown model: 'no_such_model'"));
}

TEST_F(SpeechClientE2eTest, InferOnEveryDefaultModel) {
  Result identity = Run("infer identity --length=32 --repeat=3");
  EXPECT_EQ(identity.exit_code, 0) << identity.output;
  EXPECT_THAT(identity.output, AllOf(HasSubstr("OUTPUT0 FP32 [1, 32]"),
                                     HasSubstr("latency over 3 requests: mean ")));
  Result simple = Run("infer simple --data=random --int-range=1,2");
  EXPECT_EQ(simple.exit_code, 0) << simple.output;
  // Both inputs are all ones: the sum is 2 everywhere and the difference 0.
  EXPECT_THAT(simple.output, AllOf(HasSubstr("OUTPUT0 INT32 [1, 16]: min 2 max 2"),
                                   HasSubstr("OUTPUT1 INT32 [1, 16]: min 0 max 0")));
  Result fastpitch = Run("infer fastpitch --length=16 --int-range=1,148");
  EXPECT_EQ(fastpitch.exit_code, 0) << fastpitch.output;
  EXPECT_THAT(fastpitch.output, HasSubstr("OUTPUT__0 FP32 [1, 80, "));
  Result wav2vec2 = Run("infer wav2vec2 --length=16000");
  EXPECT_EQ(wav2vec2.exit_code, 0) << wav2vec2.output;
  EXPECT_THAT(wav2vec2.output, AllOf(HasSubstr("LOGITS FP32 [1, 49, 32]"),
                                     HasSubstr("FRAMES INT64 [1, 1]: min 49 max 49")));
  Result stats = Run("stats identity");
  EXPECT_EQ(stats.exit_code, 0) << stats.output;
  EXPECT_THAT(stats.output, HasSubstr("inference_count: 3"));
}

TEST_F(SpeechClientE2eTest, ServerErrorsReachTheUserWithTheirCode) {
  Result bad = Run("infer simple --shape=INPUT0:1,8");
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_THAT(bad.output, AllOf(HasSubstr("error: INVALID_ARGUMENT: "), HasSubstr("INPUT0")));
}

}  // namespace
}  // namespace speech
