// End-to-end tests of the speech_client binary against a fake server bound to a free port.
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "tests/fakes/fake_inference_service.h"
#include "gmock/gmock.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

struct Result {
  int exit_code;
  std::string output;  // stdout and stderr
};

class SpeechClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&inference_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override { server_->Shutdown(); }

  // Runs the binary (a data dependency, relative to the runfiles directory) with `args`.
  Result Run(const std::string& args) {
    const std::string command =
        absl::StrCat("client/cli/speech_client --url=127.0.0.1:", port_, " ", args, " 2>&1");
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

  int port_ = 0;
  FakeInferenceService inference_;
  FakeHealthService health_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(SpeechClientTest, HealthCommands) {
  Result live = Run("live");
  EXPECT_EQ(live.exit_code, 0) << live.output;
  EXPECT_EQ(live.output, "live: true\n");
  EXPECT_EQ(Run("ready asr").output, "asr ready: true\n");
  Result not_ready = Run("ready asr --version 2");
  EXPECT_EQ(not_ready.exit_code, 3);
  EXPECT_EQ(Run("health").output, "health: SERVING\n");
}

TEST_F(SpeechClientTest, MetadataAsTextProto) {
  Result metadata = Run("model-metadata asr");
  EXPECT_EQ(metadata.exit_code, 0) << metadata.output;
  EXPECT_THAT(metadata.output, HasSubstr("name: \"AUDIO\""));
  Result missing = Run("model-config tts");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.output, "error: NOT_FOUND: unknown model: tts\n");
  Result unimplemented = Run("index");
  EXPECT_EQ(unimplemented.exit_code, 1);
  EXPECT_THAT(unimplemented.output, StartsWith("error: UNIMPLEMENTED: "));
}

TEST_F(SpeechClientTest, InferGeneratesInputsFromMetadata) {
  Result infer = Run("infer asr --batch=2 --length 50 --int-range=7,8 --repeat=3");
  EXPECT_EQ(infer.exit_code, 0) << infer.output;
  EXPECT_THAT(infer.output, HasSubstr("AUDIO FP32 [2, 80, 50]: min -"));
  EXPECT_THAT(infer.output, HasSubstr("LENGTHS INT64 [2, 1]: min 7 max 7 mean 7 first [7, 7]"));
  EXPECT_THAT(infer.output, HasSubstr("latency over 3 requests: mean "));
  const inference::ModelInferRequest request = inference_.last_request();
  ASSERT_EQ(request.inputs_size(), 2);
  EXPECT_EQ(request.raw_input_contents(0).size(), 2 * 80 * 50 * sizeof(float));
}

TEST_F(SpeechClientTest, InferUsageErrors) {
  Result unknown = Run("infer asr --shape=VIDEO:1,2");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.output, HasSubstr("error: INVALID_ARGUMENT: --shape names input \"VIDEO\""));
  EXPECT_EQ(Run("infer asr --data=ones").exit_code, 2);
  EXPECT_EQ(Run("infer").exit_code, 2);
}

}  // namespace
}  // namespace speech
