// A test-suite base that runs the real speech_server once per suite and gives its tests a
// connected client. Test-only.
#ifndef SPEECH_TESTS_HARNESS_SERVER_FIXTURE_H_
#define SPEECH_TESTS_HARNESS_SERVER_FIXTURE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/inference_client.h"
#include "gtest/gtest.h"
#include "tests/harness/server_process.h"

namespace speech {

// Not thread-safe: the suite's set-up and tear-down run on the test's main thread; the client
// itself is thread-safe.
class RealServerTest : public ::testing::Test {
 protected:
  // Starts the server on `repository` (metrics off) with `extra_flags` after the fixture's own
  // (so a later flag of the same name wins) and connects the client. Call from SetUpTestSuite;
  // a failure fails the suite.
  static void StartServer(const std::string& repository,
                          const std::vector<std::string>& extra_flags = {}) {
    std::vector<std::string> flags = {absl::StrCat("--model-repository=", repository),
                                      "--allow-metrics=false"};
    flags.insert(flags.end(), extra_flags.begin(), extra_flags.end());
    auto server = ServerProcess::Start("server/speech_server", flags);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    auto client = InferenceClient::Create(InferenceClient::Options{server_->grpc_target()});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = client->release();
  }

  // Stops the server, which must exit cleanly. Call from TearDownTestSuite.
  static void StopServer() {
    delete client_;
    client_ = nullptr;
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    }
    delete server_;
    server_ = nullptr;
  }

  // A suite whose server did not start has already failed, with the reason; its tests then
  // skip rather than use a client that is not there.
  void SetUp() override {
    if (client_ == nullptr) GTEST_SKIP() << "the suite's server did not start";
  }

  static inline ServerProcess* server_ = nullptr;
  static inline InferenceClient* client_ = nullptr;
};

}  // namespace speech

#endif  // SPEECH_TESTS_HARNESS_SERVER_FIXTURE_H_
