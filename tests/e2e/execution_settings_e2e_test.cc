// The real server's execution environment: OpenMP's passive wait policy and serial OpenBLAS
// unless the user chose otherwise, and each instance's execution settings (intra-op threads shared
// among the cores) in its log.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "models/torch/execution/execution_settings.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;

// The server with FastPitch (2 CPU instances) alone.
std::unique_ptr<ServerProcess> StartFastPitchServer() {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      "server/speech_server", {absl::StrCat("--model-repository=", kDefaultRepository),
                               "--model-control-mode=explicit", "--load-model=fastpitch"});
  EXPECT_TRUE(server.ok()) << server.status();
  return server.ok() ? *std::move(server) : nullptr;
}

// The process's environment, one "NAME=value" per entry.
std::vector<std::string> Environment(pid_t pid) {
  std::ifstream file(absl::StrCat("/proc/", pid, "/environ"), std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return absl::StrSplit(text, '\0', absl::SkipEmpty());
}

TEST(ExecutionSettingsE2eTest, ServerRunsOpenMpPassiveOpenBlasSerialAndSharesTheCores) {
  unsetenv("OMP_WAIT_POLICY");
  unsetenv("OPENBLAS_NUM_THREADS");
  std::unique_ptr<ServerProcess> server = StartFastPitchServer();
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Environment(server->pid()), Contains("OMP_WAIT_POLICY=PASSIVE"));
  EXPECT_THAT(Environment(server->pid()), Contains("OPENBLAS_NUM_THREADS=1"));
  // Two instances: the cores but one, shared between them, at least one thread each.
  const int threads = std::max(1, (UsableCores() - 1) / 2);
  const std::string output = server->Output();
  for (const char* instance : {"fastpitch_0_0", "fastpitch_0_1"}) {
    EXPECT_THAT(output, HasSubstr(absl::StrCat("instance '", instance,
                                               "' on cpu: intra-op threads ", threads,
                                               ", inter-op threads default, inference "
                                               "mode, optimized execution")))
        << output;
  }
  EXPECT_THAT(output, HasSubstr("NaN outputs rejected"));
  EXPECT_EQ(server->Stop(), 0);
}

TEST(ExecutionSettingsE2eTest, WhatTheUserSetIsKept) {
  setenv("OMP_WAIT_POLICY", "ACTIVE", 1);
  setenv("OPENBLAS_NUM_THREADS", "2", 1);
  std::unique_ptr<ServerProcess> server = StartFastPitchServer();
  unsetenv("OMP_WAIT_POLICY");
  unsetenv("OPENBLAS_NUM_THREADS");
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(Environment(server->pid()), Contains("OMP_WAIT_POLICY=ACTIVE"));
  EXPECT_THAT(Environment(server->pid()), Contains("OPENBLAS_NUM_THREADS=2"));
  EXPECT_EQ(server->Stop(), 0);
}

}  // namespace
}  // namespace speech
