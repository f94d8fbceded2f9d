// Shared by server/http's tests: a temporary repository on fake instances, served through the
// request core by an HttpService on a loopback port, and a client for it.
#ifndef SPEECH_SERVER_HTTP_HTTP_TEST_SUPPORT_H_
#define SPEECH_SERVER_HTTP_HTTP_TEST_SUPPORT_H_

#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/core/inference_core.h"
#include "server/http/http_service.h"
#include "server/metrics/catalog.h"
#include "server/repository/model_repository.h"
#include "tests/fakes/fake_instance_factory.h"

namespace speech {

inline constexpr char kIdentity[] = "identity";  // batches up to 8 rows of FP32 [4]
inline constexpr char kNoBatch[] = "nobatch";    // one INT32 [2] per request
inline constexpr char kTypes[] = "types";        // one input per datatype, echoed
inline constexpr char kServerName[] = "test-server";
inline constexpr char kServerVersion[] = "9.8.7";

inline constexpr char kIdentityConfig[] = R"pb(
  platform: "pytorch_libtorch"
  max_batch_size: 8
  input {
    name: "INPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
  output {
    name: "OUTPUT0"
    data_type: TYPE_FP32
    dims: [ 4 ]
  }
)pb";

inline constexpr char kNoBatchConfig[] = R"pb(
  platform: "pytorch_libtorch"
  input {
    name: "INPUT0"
    data_type: TYPE_INT32
    dims: [ 2 ]
  }
  output {
    name: "OUTPUT0"
    data_type: TYPE_INT32
    dims: [ 2 ]
  }
)pb";

// Each output echoes the input at its position (the fake instance's rule).
inline constexpr char kTypesConfig[] = R"pb(
  platform: "pytorch_libtorch"
  input {
    name: "BOOL"
    data_type: TYPE_BOOL
    dims: [ 2 ]
  }
  input {
    name: "UINT8"
    data_type: TYPE_UINT8
    dims: [ 2 ]
  }
  input {
    name: "INT16"
    data_type: TYPE_INT16
    dims: [ 2 ]
  }
  input {
    name: "INT64"
    data_type: TYPE_INT64
    dims: [ 2 ]
  }
  input {
    name: "FP16"
    data_type: TYPE_FP16
    dims: [ 2 ]
  }
  input {
    name: "FP64"
    data_type: TYPE_FP64
    dims: [ 2 ]
  }
  output {
    name: "BOOL_OUT"
    data_type: TYPE_BOOL
    dims: [ 2 ]
  }
  output {
    name: "UINT8_OUT"
    data_type: TYPE_UINT8
    dims: [ 2 ]
  }
  output {
    name: "INT16_OUT"
    data_type: TYPE_INT16
    dims: [ 2 ]
  }
  output {
    name: "INT64_OUT"
    data_type: TYPE_INT64
    dims: [ 2 ]
  }
  output {
    name: "FP16_OUT"
    data_type: TYPE_FP16
    dims: [ 2 ]
  }
  output {
    name: "FP64_OUT"
    data_type: TYPE_FP64
    dims: [ 2 ]
  }
)pb";

// Two rows of FP32 [4] for the identity model, in JSON.
inline constexpr char kIdentityJson[] = R"({"id": "j1", "inputs": [{"name": "INPUT0",
    "shape": [2, 4], "datatype": "FP32", "data": [[1, 2, 3, 4], [0.5, 0.25, -1, 8]]}]})";

template <typename T>
std::string RawBytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// A socket connected to the loopback `port`, for what httplib's client cannot do (hang up
// mid-request, send a request without Content-Length).
inline int ConnectTo(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  return fd;
}

// Sends `request` on a new connection and returns everything the server sends until it closes.
inline std::string RawExchange(int port, const std::string& request) {
  const int fd = ConnectTo(port);
  EXPECT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string reply;
  char buffer[4096];
  ssize_t received;
  while ((received = recv(fd, buffer, sizeof(buffer), 0)) > 0) reply.append(buffer, received);
  close(fd);
  return reply;
}

// Serves a fresh repository per test; `client_` talks to it over keep-alive HTTP.
class HttpServiceTest : public ::testing::Test {
 protected:
  using Json = nlohmann::ordered_json;

  void SetUp() override { ASSERT_NO_FATAL_FAILURE(Serve(HttpService::Options())); }

  void TearDown() override {
    // Held executions would keep requests (and so the server's shutdown) waiting for ever.
    factory_.Release(kIdentity);
    if (service_ != nullptr) service_->Shutdown();
    if (repository_ != nullptr) repository_->Shutdown();
  }

  static void WriteModel(const std::filesystem::path& repository, const std::string& name,
                         const std::string& config) {
    std::filesystem::create_directories(repository / name / "1");
    std::ofstream(repository / name / "config.pbtxt") << config;
    std::ofstream(repository / name / "1" / "model.pt") << "any bytes: the fake never reads them";
  }

  // Loads the three models on fake instances and serves them with `options` (address and port
  // are loopback and 0 whatever they say).
  void Serve(HttpService::Options options) {
    const std::filesystem::path repository =
        std::filesystem::path(::testing::TempDir()) /
        absl::StrCat("http_repository_", getpid(), "_",
                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(repository);
    WriteModel(repository, kIdentity, kIdentityConfig);
    WriteModel(repository, kNoBatch, kNoBatchConfig);
    WriteModel(repository, kTypes, kTypesConfig);

    MetricsCatalog::Options metrics_options;
    metrics_options.gpu_metrics = false;
    absl::StatusOr<std::unique_ptr<MetricsCatalog>> catalog =
        MetricsCatalog::Create(metrics_options);
    ASSERT_TRUE(catalog.ok()) << catalog.status();
    catalog_ = *std::move(catalog);
    ModelRepository::Options repository_options;
    repository_options.instances = &factory_;
    repository_options.metrics = catalog_.get();
    absl::StatusOr<std::unique_ptr<ModelRepository>> loaded =
        ModelRepository::Load(repository.string(), repository_options);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    repository_ = *std::move(loaded);

    InferenceCore::Options core_options;
    core_options.server_name = kServerName;
    core_options.server_version = kServerVersion;
    core_ = std::make_unique<InferenceCore>(repository_.get(), core_options);
    options.address = "127.0.0.1";
    options.port = 0;
    absl::StatusOr<std::unique_ptr<HttpService>> service =
        HttpService::Create(core_.get(), std::move(options));
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    client_ = std::make_unique<httplib::Client>("127.0.0.1", service_->port());
    client_->set_keep_alive(true);
    client_->set_tcp_nodelay(true);  // or Nagle holds each body back for a delayed ACK (40 ms)
  }

  // The reply's JSON body; a failure (and null) when it is not JSON.
  static Json BodyJson(const httplib::Result& result) {
    if (!result) {
      ADD_FAILURE() << "no reply: " << httplib::to_string(result.error());
      return Json();
    }
    Json json = Json::parse(result->body, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(json.is_discarded()) << "not JSON: " << result->body;
    return json;
  }

  // The "error" of a JSON error reply.
  static std::string Error(const httplib::Result& result) {
    const Json json = BodyJson(result);
    if (!json.is_object() || !json.contains("error")) return "";
    return json["error"].get<std::string>();
  }

  httplib::Result PostJson(const std::string& path, const std::string& body) {
    return client_->Post(path.c_str(), body, "application/json");
  }

  // Whatever a case did, the server still answers inference correctly on the same client.
  void ExpectStillServing() {
    httplib::Result result = PostJson("/v2/models/identity/infer", kIdentityJson);
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    ASSERT_EQ(result->status, 200) << result->body;
    EXPECT_EQ(BodyJson(result)["outputs"][0]["data"],
              Json::parse("[1, 2, 3, 4, 0.5, 0.25, -1, 8]"));
  }

  // A POST whose body is `json` followed by `binary`, with Inference-Header-Content-Length.
  httplib::Result PostBinary(const std::string& path, const std::string& json,
                             const std::string& binary) {
    httplib::Headers headers = {{"Inference-Header-Content-Length", std::to_string(json.size())}};
    return client_->Post(path.c_str(), headers, json + binary, "application/octet-stream");
  }

  // Declared so that the service goes first.
  FakeInstanceFactory factory_;
  std::unique_ptr<MetricsCatalog> catalog_;
  std::unique_ptr<ModelRepository> repository_;
  std::unique_ptr<InferenceCore> core_;
  std::unique_ptr<HttpService> service_;
  std::unique_ptr<httplib::Client> client_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_HTTP_TEST_SUPPORT_H_
