// The execution timeout through the real server: tiny FastPitch with EXECUTION_TIMEOUT_MS, one
// instance, and a request long enough to run past it. That request fails at the timeout with
// DEADLINE_EXCEEDED, a message naming the instance and the timeout and no traceback, and is
// counted as a BACKEND failure; another model serves meanwhile; once the long forward() has
// ended, the same instance serves again; the server stops cleanly.
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/inference_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/metrics_scrape.h"
#include "tests/harness/requests.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// Above what the load-time warm-up (8 rows of 128 symbols, the graph's first runs) takes under
// AddressSanitizer on a busy 2-core machine (over 1000 ms once), below the long request's cost.
constexpr int kTimeoutMs = 2500;
// Symbols in the long request: seconds of work for tiny FastPitch on one thread (its attention
// grows with the square of its frames), well past the timeout.
constexpr int kLongSymbols = 3000;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The default FastPitch, one instance, accepting kLongSymbols, under the execution timeout and
// without the cost model (whose probe would measure batches up to the longest length), beside
// the default `identity`.
std::string TimeoutRepository() {
  const fs::path root = fs::path(::testing::TempDir()) / "timeout_repository";
  fs::remove_all(root);
  fs::create_directories(root);
  fs::copy(fs::path(kDefaultRepository) / "fastpitch", root / "fastpitch",
           fs::copy_options::recursive);
  fs::copy(fs::path(kDefaultRepository) / "identity", root / "identity",
           fs::copy_options::recursive);
  const fs::path config = root / "fastpitch" / "config.pbtxt";
  const std::string text = ReadText(config);
  EXPECT_THAT(text, HasSubstr("max_length: 512"));
  EXPECT_THAT(text, HasSubstr("count: 2"));
  fs::remove(config);
  std::ofstream(config) << absl::StrReplaceAll(text, {{"max_length: 512",
                                                       absl::StrCat("max_length: ", kLongSymbols)},
                                                      {"count: 2", "count: 1"}})
                        << "parameters { key: \"EXECUTION_TIMEOUT_MS\" value { string_value: \""
                        << kTimeoutMs << "\" } }\n"
                        << "parameters { key: \"batch_cost_model\" value { string_value: \"false\" "
                           "} }\n";
  return root.string();
}

TEST(ExecutionTimeoutE2eTest, ARunawayBatchFailsAtTheTimeoutAndTheInstanceServesAfter) {
  absl::StatusOr<std::unique_ptr<ServerProcess>> server = ServerProcess::Start(
      "server/speech_server", {absl::StrCat("--model-repository=", TimeoutRepository())});
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT((*server)->Output(),
              HasSubstr(absl::StrCat("execution timeout ", kTimeoutMs, " ms")));
  InferenceClient::Options options{(*server)->grpc_target()};
  options.default_deadline = absl::Seconds(120);
  absl::StatusOr<std::unique_ptr<InferenceClient>> client = InferenceClient::Create(options);
  ASSERT_TRUE(client.ok()) << client.status();

  const absl::Status first = (*client)->Infer(FastPitchRequest(64)).status();
  ASSERT_TRUE(first.ok()) << first << "\n" << (*server)->Output();
  const absl::StatusOr<inference::ModelInferResponse> runaway =
      (*client)->Infer(FastPitchRequest(kLongSymbols));
  ASSERT_FALSE(runaway.ok());
  EXPECT_EQ(runaway.status().code(), absl::StatusCode::kDeadlineExceeded) << runaway.status();
  const std::string message(runaway.status().message());
  EXPECT_THAT(message, HasSubstr(absl::StrCat("instance 'fastpitch_0_0' did not finish the batch "
                                              "within its execution timeout of ",
                                              kTimeoutMs, " ms")));
  EXPECT_THAT(message, Not(HasSubstr("Traceback")));
  EXPECT_THAT(message, Not(HasSubstr(".py")));

  // Other models serve while the runaway forward() goes on.
  EXPECT_TRUE((*client)->Infer(IdentityRequest()).ok());

  // The same instance serves once it has ended: requests in between fail UNAVAILABLE (after one
  // more timeout each) or succeed; within two minutes one succeeds.
  const absl::Time give_up = absl::Now() + absl::Minutes(2);
  absl::Status served = absl::UnknownError("not tried");
  while (!served.ok() && absl::Now() < give_up) {
    served = (*client)->Infer(FastPitchRequest(64)).status();
    if (!served.ok()) {
      EXPECT_EQ(served.code(), absl::StatusCode::kUnavailable) << served;
      EXPECT_THAT(std::string(served.message()),
                  HasSubstr("is still running a batch that passed its execution timeout"));
    }
  }
  EXPECT_TRUE(served.ok()) << served;

  const absl::StatusOr<HttpReply> metrics = HttpGet((*server)->metrics_port(), "/metrics");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  const absl::StatusOr<double> backend = SampleValue(
      metrics->body,
      R"(nv_inference_request_failure{model="fastpitch",version="1",reason="BACKEND"})");
  ASSERT_TRUE(backend.ok()) << backend.status();
  EXPECT_GE(*backend, 1);  // the runaway, and any request that found the instance still busy

  EXPECT_THAT((*server)->Output(), HasSubstr("ran past the execution timeout"));
  EXPECT_EQ((*server)->Stop(), 0);
}

}  // namespace
}  // namespace speech
