#include "client/perf/transport/http_endpoint.h"

#include <httplib.h>

#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

TEST(ParseHttpEndpointTest, HostPortWithOrWithoutScheme) {
  struct Case {
    const char* url;
    const char* host;
    int port;
  };
  for (const Case& c :
       {Case{"localhost:8000", "localhost", 8000}, Case{"http://10.0.0.7:9000/", "10.0.0.7", 9000},
        Case{"HTTP://speech.internal", "speech.internal", 80}, Case{"[::1]:8000", "::1", 8000},
        Case{"[fe80::2]", "fe80::2", 80}}) {
    absl::StatusOr<HttpEndpoint> endpoint = ParseHttpEndpoint(c.url);
    ASSERT_TRUE(endpoint.ok()) << c.url << ": " << endpoint.status();
    EXPECT_EQ(endpoint->host, c.host) << c.url;
    EXPECT_EQ(endpoint->port, c.port) << c.url;
  }
  EXPECT_EQ(ParseHttpEndpoint("[::1]:8000")->ToString(), "[::1]:8000");
  EXPECT_EQ(ParseHttpEndpoint("http://h:1")->ToString(), "h:1");
}

TEST(ParseHttpEndpointTest, RefusesWhatItCannotReach) {
  for (const char* bad : {"", ":8000", "h:", "h:0", "h:65536", "h:port", "https://h:443",
                          "grpc://h:8001", "h:8000/v2", "::1:8000", "[::1", "[::1]x"}) {
    absl::StatusOr<HttpEndpoint> endpoint = ParseHttpEndpoint(bad);
    ASSERT_FALSE(endpoint.ok()) << bad;
    EXPECT_EQ(endpoint.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(endpoint.status().message(), HasSubstr(std::string("\"") + bad + "\""));
  }
}

TEST(ValidateHttpClientOptionsTest, TimeoutsMustBePositive) {
  EXPECT_TRUE(ValidateHttpClientOptions({}).ok());
  HttpClientOptions options;
  options.connect_timeout = absl::ZeroDuration();
  EXPECT_THAT(ValidateHttpClientOptions(options).message(), HasSubstr("connect_timeout"));
  options = {};
  options.io_timeout = -absl::Seconds(1);
  EXPECT_THAT(ValidateHttpClientOptions(options).message(), HasSubstr("io_timeout"));
}

TEST(ModelRouteTest, EncodesSegments) {
  EXPECT_EQ(ModelRoute("identity", "", "/infer"), "/v2/models/identity/infer");
  EXPECT_EQ(ModelRoute("simple", "2", "/stats"), "/v2/models/simple/versions/2/stats");
  EXPECT_EQ(ModelRoute("a b/c", "", ""), "/v2/models/a%20b%2Fc");
  EXPECT_EQ(ModelRoute("tts_frontend-v1.2~x", "", ""), "/v2/models/tts_frontend-v1.2~x");
}

TEST(StatusFromHttpTest, CodesMirrorTheServers) {
  EXPECT_EQ(StatusCodeFromHttp(200), absl::StatusCode::kOk);
  EXPECT_EQ(StatusCodeFromHttp(204), absl::StatusCode::kOk);
  EXPECT_EQ(StatusCodeFromHttp(400), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeFromHttp(404), absl::StatusCode::kNotFound);
  EXPECT_EQ(StatusCodeFromHttp(413), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StatusCodeFromHttp(429), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(StatusCodeFromHttp(499), absl::StatusCode::kCancelled);
  EXPECT_EQ(StatusCodeFromHttp(500), absl::StatusCode::kInternal);
  EXPECT_EQ(StatusCodeFromHttp(501), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(StatusCodeFromHttp(503), absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusCodeFromHttp(504), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusCodeFromHttp(302), absl::StatusCode::kUnknown);
}

TEST(StatusFromHttpTest, MessagesComeFromTheErrorBody) {
  EXPECT_TRUE(StatusFromHttpReply(200, "anything").ok());
  const absl::Status error = StatusFromHttpReply(400, R"({"error": "unexpected shape [1,15]"})");
  EXPECT_EQ(error.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(error.message(), "unexpected shape [1,15]");
  EXPECT_EQ(StatusFromHttpReply(503, "").message(), "HTTP 503");
  const absl::Status html = StatusFromHttpReply(502, "<html>" + std::string(500, 'x'));
  EXPECT_EQ(html.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(html.message(), HasSubstr("HTTP 502: <html>xx"));
  EXPECT_LT(html.message().size(), 250u);
  // JSON that is not an error reply is quoted too.
  EXPECT_THAT(StatusFromHttpReply(404, R"({"error": 7})").message(), HasSubstr("HTTP 404: {"));
}

TEST(StatusFromHttpTest, NoReplyIsUnavailableAndNamesTheEndpoint) {
  const HttpEndpoint endpoint{"127.0.0.1", 1};
  const absl::Status refused = StatusFromHttpError(httplib::Error::Connection, endpoint);
  EXPECT_EQ(refused.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.message(), HasSubstr("127.0.0.1:1"));
  EXPECT_EQ(StatusFromHttpError(httplib::Error::ConnectionTimeout, endpoint).code(),
            absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(StatusFromHttpError(httplib::Error::Read, endpoint).code(),
            absl::StatusCode::kUnavailable);
}

TEST(MakeHttpClientTest, KeepsOneConnectionAcrossRequests) {
  httplib::Server server;
  server.Get("/port", [](const httplib::Request& request, httplib::Response& reply) {
    reply.set_content(std::to_string(request.remote_port), "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread listener([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::yield();  // or stop() could come first, in vain
  std::unique_ptr<httplib::Client> client = MakeHttpClient({"127.0.0.1", port}, {});
  httplib::Result first = client->Get("/port");
  httplib::Result second = client->Get("/port");
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, second->body);  // the same client port: the same connection
  client.reset();
  server.stop();
  listener.join();
}

}  // namespace
}  // namespace speech
