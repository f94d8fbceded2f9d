// The REST adapter's errors in one process (http_test_support.h), over real HTTP: malformed
// bodies, bad binary sections, unknown paths, wrong methods and bodies over the limit, each with
// its status and message and each followed by a request that succeeds; a client that hangs up
// while queued; invalid options, a busy port and shutdown.
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/http/http_service.h"
#include "server/http/http_test_support.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

TEST_F(HttpServiceTest, BadInferenceRequestsGetPreciseErrors) {
  struct Case {
    std::string body;
    int status;
    std::string message;
  };
  const std::vector<Case> cases = {
      {R"({"inputs": [)", 400, "the request's JSON is malformed (byte 13 of 12)"},
      {R"({"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [1, 2]}]})",
       400, "input 'INPUT0': 'data' holds 2 values; shape [1, 4] needs 4"},
      {R"({"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32",
           "data": [1, 2, "3", 4]}]})",
       400, "input 'INPUT0': element 2 of 'data' is a string (\"3\"); FP32 takes numbers"},
      // The core's checks, as over gRPC.
      {R"({"inputs": [{"name": "INPUT0", "shape": [1, 5], "datatype": "FP32",
           "data": [1, 2, 3, 4, 5]}]})",
       400, "model 'identity': input 'INPUT0': shape [1, 5] does not match [-1, 4]"},
      {R"({"inputs": [{"name": "WRONG", "shape": [1, 4], "datatype": "FP32",
           "data": [1, 2, 3, 4]}]})",
       400, "unexpected input 'WRONG'"},
      {R"({"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "INT32",
           "data": [1, 2, 3, 4]}]})",
       400, "datatype 'INT32' does not match FP32"},
      {R"({"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}],
           "outputs": [{"name": "NOPE"}]})",
       400, "unknown output 'NOPE' requested"},
      {R"({"inputs": [], "outputs": [{"name": "OUTPUT0", "parameters": {"classification": 2}}]})",
       501, "the classification extension is not supported"},
  };
  for (const Case& c : cases) {
    httplib::Result result = PostJson("/v2/models/identity/infer", c.body);
    ASSERT_TRUE(result) << c.body;
    EXPECT_EQ(result->status, c.status) << c.body << "\n" << result->body;
    EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
    EXPECT_THAT(Error(result), HasSubstr(c.message)) << c.body;
    ExpectStillServing();
  }
  httplib::Result result = PostJson("/v2/models/missing/infer", kIdentityJson);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_THAT(Error(result),
              HasSubstr("Request for unknown model: 'missing' is not in the repository"));
  ExpectStillServing();
}

TEST_F(HttpServiceTest, BadBinarySectionsGetPreciseErrors) {
  const std::string json = R"({"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32",
      "parameters": {"binary_data_size": 16}}]})";
  httplib::Result result = PostBinary("/v2/models/identity/infer", json, std::string(12, '\0'));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(Error(result), HasSubstr("'binary_data_size' is 16 bytes but only 12 bytes"));
  ExpectStillServing();
  result = PostBinary("/v2/models/identity/infer", json, std::string(20, '\0'));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(Error(result), HasSubstr("4 bytes of binary data beyond what the inputs declare"));
  ExpectStillServing();
  // A binary size that disagrees with the shape: the core says so.
  const std::string twelve = R"({"inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32",
      "parameters": {"binary_data_size": 12}}]})";
  result = PostBinary("/v2/models/identity/infer", twelve, std::string(12, '\0'));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(Error(result), HasSubstr("input 'INPUT0': raw_input_contents has 12 bytes"));
  ExpectStillServing();
  // Header lengths.
  httplib::Headers headers = {{"Inference-Header-Content-Length", "100000"}};
  result = client_->Post("/v2/models/identity/infer", headers, json, "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_THAT(Error(result), HasSubstr("Inference-Header-Content-Length is 100000"));
  headers = {{"Inference-Header-Content-Length", "x"}};
  result = client_->Post("/v2/models/identity/infer", headers, json, "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  ExpectStillServing();
}

TEST_F(HttpServiceTest, UnknownPathsAndWrongMethods) {
  httplib::Result result = client_->Get("/v2/nothing");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(Error(result), "no KServe v2 route for GET /v2/nothing");
  result = PostJson("/v2/models/identity/generate", "{}");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  ExpectStillServing();

  result = client_->Get("/v2/models/identity/infer");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 405);
  EXPECT_EQ(result->get_header_value("Allow"), "POST");
  EXPECT_EQ(Error(result), "method GET is not allowed on /v2/models/identity/infer; it takes POST");
  // With a body nobody reads: the connection closes after the reply, and the client reconnects.
  result = PostJson("/v2/health/live", R"({"a": 1})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 405);
  EXPECT_EQ(result->get_header_value("Allow"), "GET, HEAD");
  EXPECT_EQ(result->get_header_value("Connection"), "close");
  ExpectStillServing();
  for (const char* method : {"PUT", "DELETE", "PATCH", "OPTIONS"}) {
    httplib::Request request;
    request.method = method;
    request.path = "/v2/repository/index";
    result = client_->send(request);
    ASSERT_TRUE(result) << method;
    EXPECT_EQ(result->status, 405) << method;
    EXPECT_EQ(result->get_header_value("Allow"), "POST") << method;
  }
  ExpectStillServing();
}

// A client that hangs up while its request waits in the queue: the request is never computed.
TEST_F(HttpServiceTest, RequestOfAClientThatHungUpIsDroppedUncomputed) {
  factory_.Hold(kIdentity);
  httplib::Client first_client("127.0.0.1", service_->port());
  std::thread first([&] {
    httplib::Result result =
        first_client.Post("/v2/models/identity/infer", kIdentityJson, "application/json");
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 200);
  });
  factory_.WaitForExecutions(kIdentity, 2);  // the warm-up and `first`, which is held

  const int fd = ConnectTo(service_->port());
  const std::string body = kIdentityJson;
  const std::string request = absl::StrCat(
      "POST /v2/models/identity/infer HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
      "Content-Length: ",
      body.size(), "\r\n\r\n", body);
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  // Wait until it is queued behind the held one (a kernel-and-thread handoff: polled).
  DynamicBatcher* batcher = (*repository_->Find(kIdentity, ""))->batcher.get();
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (batcher->QueueDepth() < 1 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(batcher->QueueDepth(), 1);
  close(fd);

  factory_.Release(kIdentity);
  first.join();
  // Dropped at dispatch, recorded as a failure, never executed.
  while (absl::Now() < give_up) {
    const Json stats = BodyJson(client_->Get("/v2/models/identity/stats"));
    if (stats["model_stats"][0]["inference_stats"]["fail"]["count"] == 1) break;
    absl::SleepFor(absl::Milliseconds(1));
  }
  const Json stats = BodyJson(client_->Get("/v2/models/identity/stats"));
  EXPECT_EQ(stats["model_stats"][0]["inference_stats"]["fail"]["count"], 1);
  EXPECT_THAT(factory_.batch_rows(kIdentity), ::testing::ElementsAre(8, 2));
}

// Bodies over the limit: refused before they are read when Content-Length says so, and while
// they are read when it does not (chunked).
class HttpBodyLimitTest : public HttpServiceTest {
 protected:
  void SetUp() override {
    HttpService::Options options;
    options.max_body_bytes = 4096;
    ASSERT_NO_FATAL_FAILURE(Serve(options));
  }
};

TEST_F(HttpBodyLimitTest, LargeBodiesGet413AndTheServerGoesOn) {
  const std::string large(64 << 10, ' ');
  httplib::Result result = PostJson("/v2/models/identity/infer", large);
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 413);
  EXPECT_EQ(result->get_header_value("Connection"), "close");
  EXPECT_EQ(Error(result),
            "the request body has 65536 bytes; this server takes at most 4096 "
            "(--http-max-body-bytes)");
  ExpectStillServing();

  // Chunked: no Content-Length to refuse early.
  result = client_->Post(
      "/v2/models/identity/infer",
      [&](size_t offset, httplib::DataSink& sink) {
        if (offset < large.size()) {
          sink.write(large.data() + offset, 1024);
        } else {
          sink.done();
        }
        return true;
      },
      "application/json");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 413);
  EXPECT_THAT(Error(result), HasSubstr("larger than 4096 bytes"));
  ExpectStillServing();
}

TEST(HttpServiceCreateTest, ValidatesOptions) {
  auto code = [](HttpService::Options options) {
    options.address = "127.0.0.1";
    return HttpService::Create(nullptr, options).status();
  };
  HttpService::Options options;
  options.port = 70000;
  EXPECT_THAT(code(options).message(), HasSubstr("http port must be in [0, 65535]; was 70000"));
  options = HttpService::Options();
  options.thread_count = 0;
  EXPECT_THAT(code(options).message(), HasSubstr("thread_count must be positive; was 0"));
  options = HttpService::Options();
  options.max_body_bytes = 0;
  EXPECT_THAT(code(options).message(), HasSubstr("max_body_bytes must be positive"));
  options = HttpService::Options();
  options.keep_alive_seconds = 0;
  EXPECT_EQ(code(options).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(HttpServiceTest, BusyPortIsUnavailableAndShutdownIsIdempotent) {
  HttpService::Options options;
  options.address = "127.0.0.1";
  options.port = service_->port();
  absl::StatusOr<std::unique_ptr<HttpService>> second = HttpService::Create(core_.get(), options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(second.status().message(), HasSubstr("cannot listen for HTTP on 127.0.0.1:"));
  ExpectStillServing();
  service_->StopAccepting();
  service_->StopAccepting();
  service_->Shutdown();
  service_->Shutdown();
  httplib::Client after("127.0.0.1", service_->port());
  EXPECT_FALSE(after.Get("/v2/health/live"));
}

}  // namespace
}  // namespace speech
