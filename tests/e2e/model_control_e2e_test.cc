// Model control end to end, on the real speech_server: mode poll rolling a new version out
// under load from several clients (not one request fails, the new version serves within the
// poll period, the old one goes), a broken new version that leaves the serving one in place, a
// removed model directory; and mode explicit driven over gRPC and REST (load, unload, config
// override, errors).
#include <httplib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

// Copies the default repository's `model` into `root` as version `version`, atomically (the
// version directory appears whole, as a deployment tool that renames into place makes it).
void AddVersion(const fs::path& root, const std::string& model, int version) {
  const fs::path source = fs::path(kDefaultRepository) / model;
  fs::create_directories(root / model);
  if (!fs::exists(root / model / "config.pbtxt")) {
    fs::copy_file(source / "config.pbtxt", root / model / "config.pbtxt");
  }
  const fs::path staging = root / absl::StrCat(".staging_", model, "_", version);
  fs::create_directories(staging);
  fs::copy_file(source / "1" / "model.pt", staging / "model.pt");
  fs::rename(staging, root / model / absl::StrCat(version));
}

fs::path FreshRoot(const std::string& name) {
  const fs::path root = fs::path(std::getenv("TEST_TMPDIR")) / name;
  fs::remove_all(root);
  fs::create_directories(root);
  return root;
}

inference::ModelInferRequest IdentityRequest(const std::string& id) {
  HostTensor input{"INPUT0", "FP32", {1, 8}, std::string(8 * sizeof(float), '\0')};
  inference::ModelInferRequest request = MakeInferRequest("identity", "", {input}, {});
  request.set_id(id);
  return request;
}

// Clients that send identity requests without pause until stopped, and count what came back.
class Load {
 public:
  Load(const InferenceClient* client, int threads) {
    for (int t = 0; t < threads; ++t) {
      threads_.emplace_back([this, client, t] {
        for (int i = 0; !stop_.load(); ++i) {
          absl::StatusOr<inference::ModelInferResponse> response =
              client->Infer(IdentityRequest(absl::StrCat(t, "-", i)));
          absl::MutexLock lock(&mu_);
          if (response.ok()) {
            ++served_[response->model_version()];
          } else {
            failures_.push_back(response.status().ToString());
          }
        }
      });
    }
  }
  ~Load() { Stop(); }

  void Stop() {
    stop_ = true;
    for (std::thread& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  // Waits until version `version` has answered `count` requests, or `timeout` passes.
  bool WaitForVersion(const std::string& version, int count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      auto it = served_.find(version);
      return it != served_.end() && it->second >= count;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
  }

  std::map<std::string, int> served() const {
    absl::MutexLock lock(&mu_);
    return served_;
  }
  std::vector<std::string> failures() const {
    absl::MutexLock lock(&mu_);
    return failures_;
  }

 private:
  std::atomic<bool> stop_{false};
  mutable absl::Mutex mu_;
  std::map<std::string, int> served_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> failures_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

std::vector<std::string> IndexRows(const InferenceClient& client) {
  std::vector<std::string> rows;
  absl::StatusOr<inference::RepositoryIndexResponse> index = client.RepositoryIndex();
  EXPECT_TRUE(index.ok()) << index.status();
  if (!index.ok()) return rows;
  for (const auto& model : index->models()) {
    rows.push_back(absl::StrCat(model.name(), ":", model.version(), ":", model.state(),
                                model.reason().empty() ? "" : ":", model.reason()));
  }
  return rows;
}

// Whether the server says `name` (at `version`) is ready; false, with a failure, when it cannot
// say.
bool IsReady(const InferenceClient& client, const std::string& name,
             const std::string& version = "") {
  absl::StatusOr<bool> ready = client.ModelReady(name, version);
  EXPECT_TRUE(ready.ok()) << ready.status();
  return ready.ok() && *ready;
}

// Polls `condition` every 50 ms until it holds or `timeout` passes.
template <typename Condition>
bool Eventually(Condition condition, absl::Duration timeout) {
  const absl::Time end = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return true;
}

TEST(PollModeTest, NewVersionRollsOutUnderLoadWithoutAFailedRequest) {
  const fs::path root = FreshRoot("poll");
  AddVersion(root, "identity", 1);
  AddVersion(root, "simple", 1);
  auto server = ServerProcess::Start(
      "server/speech_server",
      {absl::StrCat("--model-repository=", root.string()), "--allow-metrics=false",
       "--model-control-mode=poll", "--repository-poll-secs=1"});
  ASSERT_TRUE(server.ok()) << server.status();
  auto client = InferenceClient::Create(InferenceClient::Options{(*server)->grpc_target()});
  ASSERT_TRUE(client.ok()) << client.status();

  Load load(client->get(), 4);
  ASSERT_TRUE(load.WaitForVersion("1", 50, absl::Seconds(60))) << (*server)->Output();

  // Version 2 appears: it loads and warms up while version 1 serves, then takes over.
  const absl::Time added = absl::Now();
  AddVersion(root, "identity", 2);
  ASSERT_TRUE(load.WaitForVersion("2", 50, absl::Seconds(60))) << (*server)->Output();
  const absl::Duration took = absl::Now() - added;
  // Version 1's directory goes; nothing that serves changes.
  fs::remove_all(root / "identity" / "1");
  // A broken version 3 fails to load; version 2 keeps serving.
  fs::create_directories(root / ".staging");
  std::ofstream(root / ".staging" / "model.pt") << "not TorchScript";
  fs::rename(root / ".staging", root / "identity" / "3");
  ASSERT_TRUE(Eventually(
      [&] {
        for (const std::string& row : IndexRows(**client)) {
          if (row.find("identity::UNAVAILABLE") == 0) return true;
        }
        return false;
      },
      absl::Seconds(60)))
      << (*server)->Output();
  const int before = load.served()["2"];
  ASSERT_TRUE(load.WaitForVersion("2", before + 50, absl::Seconds(60)));
  load.Stop();

  EXPECT_THAT(load.failures(), ::testing::IsEmpty()) << (*server)->Output();
  std::cerr << "version 2 served " << absl::ToDoubleSeconds(took)
            << " s after its directory appeared (poll period 1 s); requests: 1="
            << load.served()["1"] << " 2=" << load.served()["2"] << std::endl;
  EXPECT_LT(took, absl::Seconds(30));
  const std::vector<std::string> rows = IndexRows(**client);
  EXPECT_THAT(rows, ::testing::Contains("identity:2:READY"));
  EXPECT_THAT(
      rows, ::testing::Contains(AllOf(HasSubstr("identity::UNAVAILABLE"), HasSubstr("version 3"))));
  EXPECT_FALSE(IsReady(**client, "identity", "1"));

  // A model directory that goes away is unloaded.
  fs::remove_all(root / "simple");
  EXPECT_TRUE(Eventually(
      [&] {
        absl::StatusOr<bool> ready = (*client)->ModelReady("simple");
        return ready.ok() && !*ready;
      },
      absl::Seconds(60)));
  EXPECT_EQ((*server)->Stop(), 0) << (*server)->Output();
}

class ExplicitModeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = FreshRoot("explicit");
    AddVersion(root_, "identity", 1);
    AddVersion(root_, "simple", 1);
    auto server = ServerProcess::Start(
        "server/speech_server",
        {absl::StrCat("--model-repository=", root_.string()), "--allow-metrics=false",
         "--model-control-mode=explicit", "--load-model=identity"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto client = InferenceClient::Create(InferenceClient::Options{server_->grpc_target()});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
  }
  void TearDown() override {
    if (server_ != nullptr) EXPECT_EQ(server_->Stop(), 0) << server_->Output();
  }

  httplib::Result Post(const std::string& path, const std::string& body) {
    return http_->Post(path.c_str(), body, "application/json");
  }

  fs::path root_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<InferenceClient> client_;
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(ExplicitModeTest, LoadAndUnloadOverGrpcAndRest) {
  EXPECT_THAT(IndexRows(*client_),
              ::testing::ElementsAre("identity:1:READY",
                                     "simple::UNAVAILABLE:not loaded (model control mode "
                                     "explicit)"));
  EXPECT_FALSE(IsReady(*client_, "simple"));

  // gRPC load; then REST unload; then REST load again.
  ASSERT_TRUE(client_->LoadModel("simple").ok());
  EXPECT_TRUE(IsReady(*client_, "simple"));
  httplib::Result result = Post("/v2/repository/models/simple/unload", "");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
  EXPECT_FALSE(IsReady(*client_, "simple"));
  result = Post("/v2/repository/models/simple/load", "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
  EXPECT_TRUE(IsReady(*client_, "simple"));

  // The config override (Triton's "config" parameter) replaces config.pbtxt.
  absl::StatusOr<inference::ModelConfigResponse> config = client_->ModelConfig("identity");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->config().max_batch_size(), 64);
  const Json override_config = {
      {"platform", "pytorch_libtorch"},
      {"max_batch_size", 4},
      {"input", {{{"name", "INPUT0"}, {"data_type", "TYPE_FP32"}, {"dims", {-1}}}}},
      {"output", {{{"name", "OUTPUT0"}, {"data_type", "TYPE_FP32"}, {"dims", {-1}}}}}};
  result = Post("/v2/repository/models/identity/load",
                Json{{"parameters", {{"config", override_config.dump()}}}}.dump());
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
  config = client_->ModelConfig("identity");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->config().max_batch_size(), 4);
  EXPECT_TRUE(client_->Infer(IdentityRequest("after override")).ok());
}

TEST_F(ExplicitModeTest, BadControlRequestsGetPreciseErrorsAndTheServerKeepsServing) {
  // Unknown model: 404 over REST, NOT_FOUND over gRPC.
  httplib::Result result = Post("/v2/repository/models/ghost/load", "");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_THAT(result->body, HasSubstr("failed to load 'ghost'"));
  EXPECT_EQ(client_->LoadModel("ghost").code(), absl::StatusCode::kNotFound);
  // A broken override: 400, naming the override; the serving version stays.
  result = Post("/v2/repository/models/identity/load",
                R"({"parameters": {"config": "{\"max_batch_size\": \"many\"}"}})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(result->body,
              HasSubstr("failed to load 'identity': the config override of model 'identity'"));
  // Malformed body.
  result = Post("/v2/repository/models/identity/load", R"({"parameters": {"config": {}}})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(result->body, HasSubstr("parameter 'config' of the model load request"));
  // Unloading what is not loaded.
  const absl::Status unload = client_->UnloadModel("simple");
  EXPECT_EQ(unload.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(unload.message(), HasSubstr("cannot unload model 'simple': it is not loaded"));

  EXPECT_TRUE(client_->Infer(IdentityRequest("still serving")).ok());
  const std::vector<std::string> rows = IndexRows(*client_);
  EXPECT_THAT(rows, ::testing::Contains("identity:1:READY"));
}

}  // namespace
}  // namespace speech
