#include "client/perf/transport/http_model_client.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Triton's JSON routes served by httplib on a free loopback port, each with a canned reply keyed
// by the request target as sent (so that percent-encoding shows). Unknown targets get 404.
class FakeEndpoint {
 public:
  FakeEndpoint() {
    server_.set_keep_alive_max_count(100000);  // httplib's default closes after 5 requests
    server_.Get(".*", [this](const httplib::Request& request, httplib::Response& reply) {
      absl::MutexLock lock(&mu_);
      remote_ports_.insert(request.remote_port);
      const auto route = routes_.find(request.target);
      if (route == routes_.end()) {
        reply.status = 404;
        reply.set_content(absl::StrCat(R"({"error":"no route )", request.target, R"("})"),
                          "application/json");
        return;
      }
      reply.status = route->second.first;
      if (!route->second.second.empty()) {
        reply.set_content(route->second.second, "application/json");
      }
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::yield();  // or stop() could be lost
  }
  ~FakeEndpoint() {
    server_.stop();
    listener_.join();
  }

  void Serve(const std::string& target, int status, std::string body) {
    absl::MutexLock lock(&mu_);
    routes_[target] = {status, std::move(body)};
  }
  int port() const { return port_; }
  std::string url() const { return absl::StrCat("127.0.0.1:", port_); }
  size_t connections() const {
    absl::MutexLock lock(&mu_);
    return remote_ports_.size();
  }

 private:
  httplib::Server server_;
  int port_ = -1;
  std::thread listener_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::pair<int, std::string>> routes_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<int> remote_ports_ ABSL_GUARDED_BY(mu_);
};

std::unique_ptr<HttpModelClient> MakeClient(const std::string& url) {
  absl::StatusOr<std::unique_ptr<HttpModelClient>> client = HttpModelClient::Create({}, url);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

// What our server (and Triton) answers for GET /v2/models/identity, with a field this client
// does not know.
constexpr char kIdentityMetadata[] =
    R"({"name":"identity","versions":["1"],"platform":"pytorch_libtorch",)"
    R"("inputs":[{"name":"INPUT0","datatype":"FP32","shape":[-1,-1]}],)"
    R"("outputs":[{"name":"OUTPUT0","datatype":"FP32","shape":[-1,-1]}],)"
    R"("added_in_a_later_version":{"x":1}})";

TEST(HttpModelClientTest, CreateValidates) {
  EXPECT_EQ(HttpModelClient::Create({}, "h:0").status().code(), absl::StatusCode::kInvalidArgument);
  HttpModelClient::Options options;
  options.client.connect_timeout = absl::ZeroDuration();
  EXPECT_THAT(HttpModelClient::Create(options, "h:1").status().message(),
              HasSubstr("connect_timeout must be positive"));
  absl::StatusOr<std::unique_ptr<HttpModelClient>> client =
      HttpModelClient::Create({}, "http://speech:8000");
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->endpoint().host, "speech");
  EXPECT_EQ((*client)->endpoint().port, 8000);
}

TEST(HttpModelClientTest, CheckLive) {
  FakeEndpoint endpoint;
  ASSERT_GT(endpoint.port(), 0);
  std::unique_ptr<HttpModelClient> client = MakeClient(endpoint.url());
  ASSERT_NE(client, nullptr);
  endpoint.Serve("/v2/health/live", 200, "");
  EXPECT_TRUE(client->CheckLive().ok());

  endpoint.Serve("/v2/health/live", 400, "");
  absl::Status not_live = client->CheckLive();
  EXPECT_EQ(not_live.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(not_live.message(),
            absl::StrCat("the server at ", endpoint.url(), " is not live: HTTP 400"));

  // A 503 is a reply too: it says why, not that nothing answered.
  endpoint.Serve("/v2/health/live", 503, R"({"error":"shutting down"})");
  not_live = client->CheckLive();
  EXPECT_EQ(not_live.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(not_live.message(),
            absl::StrCat("the server at ", endpoint.url(), " is not live: shutting down"));
}

TEST(HttpModelClientTest, RefusedConnectionIsUnavailable) {
  // A port bound but not listening refuses connections, and nobody else can take it meanwhile.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t size = sizeof(address);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size), 0);
  const std::string url = absl::StrCat("127.0.0.1:", ntohs(address.sin_port));
  std::unique_ptr<HttpModelClient> client = MakeClient(url);
  ASSERT_NE(client, nullptr);
  const absl::Status live = client->CheckLive();
  EXPECT_EQ(live.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(live.message(), HasSubstr("no HTTP reply from " + url));
  const absl::Status metadata = client->ModelMetadata("identity", "").status();
  EXPECT_EQ(metadata.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(metadata.message(), HasSubstr("no HTTP reply from " + url));
  close(fd);
}

TEST(HttpModelClientTest, ModelMetadataFromJsonIgnoringUnknownFields) {
  FakeEndpoint endpoint;
  std::unique_ptr<HttpModelClient> client = MakeClient(endpoint.url());
  ASSERT_NE(client, nullptr);
  endpoint.Serve("/v2/models/identity", 200, kIdentityMetadata);
  absl::StatusOr<inference::ModelMetadataResponse> metadata = client->ModelMetadata("identity", "");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->name(), "identity");
  EXPECT_THAT(metadata->versions(), ElementsAre("1"));
  ASSERT_EQ(metadata->inputs_size(), 1);
  EXPECT_EQ(metadata->inputs(0).name(), "INPUT0");
  EXPECT_EQ(metadata->inputs(0).datatype(), "FP32");
  EXPECT_THAT(metadata->inputs(0).shape(), ElementsAre(-1, -1));
  EXPECT_EQ(metadata->outputs(0).name(), "OUTPUT0");

  // The version and odd characters travel in the route, encoded.
  endpoint.Serve("/v2/models/tts%20v2/versions/3", 200, R"({"name":"tts v2","versions":["3"]})");
  metadata = client->ModelMetadata("tts v2", "3");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->name(), "tts v2");
}

TEST(HttpModelClientTest, ServerErrorsKeepTheirCodeAndMessage) {
  FakeEndpoint endpoint;
  std::unique_ptr<HttpModelClient> client = MakeClient(endpoint.url());
  ASSERT_NE(client, nullptr);
  endpoint.Serve("/v2/models/missing", 404, R"({"error":"unknown model 'missing'"})");
  endpoint.Serve("/v2/models/identity/versions/9", 400,
                 R"({"error":"model 'identity' has no version 9"})");
  endpoint.Serve("/v2/models/loading", 503, R"({"error":"model 'loading' is not ready"})");
  struct Case {
    const char* model;
    const char* version;
    absl::StatusCode code;
    const char* message;
  };
  for (const Case& c :
       {Case{"missing", "", absl::StatusCode::kNotFound, "unknown model 'missing'"},
        Case{"identity", "9", absl::StatusCode::kInvalidArgument,
             "model 'identity' has no version 9"},
        Case{"loading", "", absl::StatusCode::kUnavailable, "model 'loading' is not ready"}}) {
    const absl::Status status = client->ModelMetadata(c.model, c.version).status();
    EXPECT_EQ(status.code(), c.code) << c.model << ": " << status;
    EXPECT_EQ(status.message(), c.message);
  }
  // Statistics and configuration go the same way.
  EXPECT_EQ(client->ModelStatistics("missing", "").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client->ModelConfig("missing", "").status().code(), absl::StatusCode::kNotFound);
}

TEST(HttpModelClientTest, MalformedJsonIsDataLossNamingRouteAndMessage) {
  FakeEndpoint endpoint;
  std::unique_ptr<HttpModelClient> client = MakeClient(endpoint.url());
  ASSERT_NE(client, nullptr);
  endpoint.Serve("/v2/models/garbled", 200, R"({"name": "garbled", )");
  endpoint.Serve("/v2/models/wrong", 200, R"({"name": "wrong", "inputs": "INPUT0"})");
  endpoint.Serve("/v2/models/empty/stats", 200, "");
  for (const char* model : {"garbled", "wrong"}) {
    const absl::Status status = client->ModelMetadata(model, "").status();
    EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << model;
    EXPECT_THAT(status.message(),
                HasSubstr(absl::StrCat("the reply to GET /v2/models/", model,
                                       " is not a inference.ModelMetadataResponse in JSON")));
  }
  const absl::Status empty = client->ModelStatistics("empty", "").status();
  EXPECT_EQ(empty.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(empty.message(), HasSubstr("inference.ModelStatisticsResponse"));
}

TEST(HttpModelClientTest, ModelConfigIsTheBareConfiguration) {
  FakeEndpoint endpoint;
  std::unique_ptr<HttpModelClient> client = MakeClient(endpoint.url());
  ASSERT_NE(client, nullptr);
  // Triton answers the configuration itself; 64-bit integers may come as strings or numbers.
  endpoint.Serve("/v2/models/identity/config", 200,
                 R"({"name":"identity","platform":"pytorch_libtorch","max_batch_size":8,)"
                 R"("input":[{"name":"INPUT0","data_type":"TYPE_FP32","dims":["-1"]}],)"
                 R"("dynamic_batching":{"max_queue_delay_microseconds":100,)"
                 R"("preferred_batch_size":[4,8]},"not_in_our_schema":true})");
  absl::StatusOr<inference::ModelConfigResponse> config = client->ModelConfig("identity", "");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->config().name(), "identity");
  EXPECT_EQ(config->config().max_batch_size(), 8);
  ASSERT_EQ(config->config().input_size(), 1);
  EXPECT_EQ(config->config().input(0).data_type(), inference::TYPE_FP32);
  EXPECT_THAT(config->config().input(0).dims(), ElementsAre(-1));
  EXPECT_EQ(config->config().dynamic_batching().max_queue_delay_microseconds(), 100u);
  EXPECT_THAT(config->config().dynamic_batching().preferred_batch_size(), ElementsAre(4, 8));
}

constexpr char kIdentityStatistics[] =
    R"({"model_stats":[{"name":"identity","version":"1","last_inference":1700000000000,)"
    R"("inference_count":"40","execution_count":10,"inference_stats":{)"
    R"("success":{"count":20,"ns":"2000000"},"fail":{"count":1,"ns":5},)"
    R"("queue":{"count":20,"ns":400000},"compute_input":{"count":20,"ns":1000},)"
    R"("compute_infer":{"count":20,"ns":1500000},"compute_output":{"count":20,"ns":2000}},)"
    R"("batch_stats":[{"batch_size":4,"compute_infer":{"count":10,"ns":1500000}}]}]})";

TEST(HttpModelClientTest, ModelStatistics) {
  FakeEndpoint endpoint;
  std::unique_ptr<HttpModelClient> client = MakeClient(endpoint.url());
  ASSERT_NE(client, nullptr);
  endpoint.Serve("/v2/models/identity/versions/1/stats", 200, kIdentityStatistics);
  absl::StatusOr<inference::ModelStatisticsResponse> response =
      client->ModelStatistics("identity", "1");
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->model_stats_size(), 1);
  const inference::ModelStatistics& stats = response->model_stats(0);
  EXPECT_EQ(stats.name(), "identity");
  EXPECT_EQ(stats.inference_count(), 40u);
  EXPECT_EQ(stats.execution_count(), 10u);
  EXPECT_EQ(stats.inference_stats().success().ns(), 2000000u);
  EXPECT_EQ(stats.inference_stats().queue().ns(), 400000u);
  EXPECT_EQ(stats.inference_stats().compute_infer().count(), 20u);
  ASSERT_EQ(stats.batch_stats_size(), 1);
  EXPECT_EQ(stats.batch_stats(0).batch_size(), 4u);
}

TEST(HttpModelClientTest, ConcurrentCallsTakeTurnsOnOneConnection) {
  FakeEndpoint endpoint;
  std::unique_ptr<HttpModelClient> client = MakeClient(endpoint.url());
  ASSERT_NE(client, nullptr);
  endpoint.Serve("/v2/models/identity/stats", 200, kIdentityStatistics);
  constexpr int kCallers = 4, kCalls = 10;
  std::vector<absl::Status> failures[kCallers];
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kCalls; ++i) {
        absl::StatusOr<inference::ModelStatisticsResponse> response =
            client->ModelStatistics("identity", "");
        if (!response.ok()) failures[c].push_back(response.status());
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  for (int c = 0; c < kCallers; ++c) EXPECT_TRUE(failures[c].empty()) << failures[c][0];
  EXPECT_EQ(endpoint.connections(), 1u);
}

}  // namespace
}  // namespace speech
