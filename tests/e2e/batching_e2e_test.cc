// Dynamic batching by Triton's rules seen from outside: 32 concurrent real gRPC clients against
// the real server's FastPitch (max batch 8, preferred 4 and 8, 2 instances), with the parameter
// batch_cost_model "false" (on two CPU cores the measured costs say batching FastPitch does not
// pay, and the default policy rightly sends it one by one). The server's statistics show batches
// larger than one formed, and every client got exactly its own rows back.
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

constexpr int kClients = 32;
constexpr int kRequestsPerClient = 6;

// The default repository's fastpitch with Triton's batch formation.
std::string TritonRulesRepository() {
  namespace fs = std::filesystem;
  const fs::path root = fs::path(std::getenv("TEST_TMPDIR")) / "triton_rules";
  const fs::path source = fs::path(kDefaultRepository) / "fastpitch";
  fs::create_directories(root / "fastpitch" / "1");
  fs::copy_file(source / "1" / "model.pt", root / "fastpitch" / "1" / "model.pt",
                fs::copy_options::overwrite_existing);
  std::ifstream in(source / "config.pbtxt");
  std::ofstream out(root / "fastpitch" / "config.pbtxt");
  out << in.rdbuf()
      << "\nparameters { key: \"batch_cost_model\" value { string_value: \"false\" } }\n";
  return root.string();
}

TEST(BatchingEndToEndTest, ConcurrentClientsAreBatchedAndGetTheirOwnRows) {
  auto server = ServerProcess::Start(
      "server/speech_server",
      {absl::StrCat("--model-repository=", TritonRulesRepository()), "--allow-metrics=false"});
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = (*server)->grpc_target();

  // Each client sends its own text; what it gets back is compared with the same text sent alone.
  std::vector<HostTensor> texts;
  for (int c = 0; c < kClients; ++c) {
    auto text = GenerateInput("INPUT__0", "INT64", {1, 128}, FillMode::kRandom, 1000 + c, 1, 148);
    ASSERT_TRUE(text.ok());
    texts.push_back(*text);
  }
  std::vector<std::vector<std::string>> durations(kClients);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back([&, c] {
      auto client = InferenceClient::Create(InferenceClient::Options{target});
      if (!client.ok()) return void(++failures);
      for (int r = 0; r < kRequestsPerClient; ++r) {
        auto response = (*client)->Infer(MakeInferRequest("fastpitch", "", {texts[c]}, {}));
        auto outputs = response.ok() ? OutputsFromResponse(*response)
                                     : absl::StatusOr<std::vector<HostTensor>>(response.status());
        if (!outputs.ok() || outputs->size() != 5) {
          ++failures;
          continue;
        }
        durations[c].push_back((*outputs)[2].bytes);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  ASSERT_EQ(failures.load(), 0);

  auto client = InferenceClient::Create(InferenceClient::Options{target});
  ASSERT_TRUE(client.ok());
  auto stats = (*client)->ModelStatistics("fastpitch");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->model_stats_size(), 1);
  const inference::ModelStatistics& model = stats->model_stats(0);
  const int total = kClients * kRequestsPerClient;
  // The warm-up runs are not requests and are not counted.
  EXPECT_EQ(model.inference_stats().success().count(), static_cast<uint64_t>(total));
  EXPECT_EQ(model.inference_count(), static_cast<uint64_t>(total));
  uint64_t rows = 0, executions = 0, largest = 0;
  for (const inference::InferBatchStatistics& batch : model.batch_stats()) {
    EXPECT_GE(batch.batch_size(), 1u);
    EXPECT_LE(batch.batch_size(), 8u);
    rows += batch.batch_size() * batch.compute_infer().count();
    executions += batch.compute_infer().count();
    if (batch.compute_infer().count() > 0) largest = std::max<uint64_t>(largest, batch.batch_size());
  }
  EXPECT_EQ(rows, static_cast<uint64_t>(total));
  EXPECT_EQ(executions, model.execution_count());
  EXPECT_LT(model.execution_count(), static_cast<uint64_t>(total)) << "no batching happened";
  EXPECT_GE(largest, 4u) << "32 clients on 2 instances should fill a preferred batch of 4";

  for (int c = 0; c < kClients; ++c) {
    auto alone = (*client)->Infer(MakeInferRequest("fastpitch", "", {texts[c]}, {}));
    ASSERT_TRUE(alone.ok()) << alone.status();
    auto outputs = OutputsFromResponse(*alone);
    ASSERT_TRUE(outputs.ok());
    ASSERT_EQ(durations[c].size(), static_cast<size_t>(kRequestsPerClient));
    const std::vector<float> expected = AsVector<float>((*outputs)[2]);
    for (const std::string& got : durations[c]) {
      // Durations are whole frames rounded from floats; a batched matmul may round one symbol
      // differently, while another request's rows would differ almost everywhere.
      HostTensor tensor{"", "FP32", {1, 128}, got};
      const std::vector<float> values = AsVector<float>(tensor);
      ASSERT_EQ(values.size(), expected.size());
      int differing = 0;
      for (size_t i = 0; i < values.size(); ++i) differing += values[i] != expected[i];
      EXPECT_LE(differing, 2) << "client " << c << " got another request's rows";
    }
  }
  EXPECT_EQ((*server)->Stop(), 0) << (*server)->Output();
}

}  // namespace
}  // namespace speech
