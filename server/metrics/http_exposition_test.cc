#include "server/metrics/http_exposition.h"

#include <httplib.h>

#include <atomic>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

MetricsHttpServer::Options Loopback(std::function<std::string()> render) {
  MetricsHttpServer::Options options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.render = std::move(render);
  return options;
}

TEST(MetricsHttpServerTest, ServesMetricsAndAnswers404Elsewhere) {
  std::atomic<int> renders{0};
  auto server = MetricsHttpServer::Create(Loopback([&renders] {
    ++renders;
    return std::string("a_metric 1\n");
  }));
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);

  httplib::Client client("127.0.0.1", (*server)->port());
  httplib::Result metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics) << httplib::to_string(metrics.error());
  EXPECT_EQ(metrics->status, 200);
  EXPECT_EQ(metrics->body, "a_metric 1\n");
  EXPECT_EQ(metrics->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(renders.load(), 1);

  httplib::Result other = client.Get("/nope");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  httplib::Result root = client.Get("/");
  ASSERT_TRUE(root);
  EXPECT_EQ(root->status, 404);
  EXPECT_EQ(renders.load(), 1);

  (*server)->Shutdown();
  (*server)->Shutdown();  // idempotent
  httplib::Client after("127.0.0.1", (*server)->port());
  EXPECT_FALSE(after.Get("/metrics"));
}

TEST(MetricsHttpServerTest, ValidatesOptionsAndReportsBusyPorts) {
  EXPECT_EQ(MetricsHttpServer::Create(Loopback(nullptr)).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto bad_port = Loopback([] { return std::string(); });
  bad_port.port = 70000;
  EXPECT_EQ(MetricsHttpServer::Create(bad_port).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto bad_threads = Loopback([] { return std::string(); });
  bad_threads.handler_threads = 0;
  EXPECT_EQ(MetricsHttpServer::Create(bad_threads).status().code(),
            absl::StatusCode::kInvalidArgument);

  auto first = MetricsHttpServer::Create(Loopback([] { return std::string(); }));
  ASSERT_TRUE(first.ok());
  auto taken = Loopback([] { return std::string(); });
  taken.port = (*first)->port();
  EXPECT_EQ(MetricsHttpServer::Create(taken).status().code(), absl::StatusCode::kUnavailable);
}

TEST(MetricsHttpServerTest, RefusesHalfATlsSetupAndFilesThatDoNotLoad) {
  auto cert_only = Loopback([] { return std::string(); });
  cert_only.tls_cert_path = "/nonexistent/cert.pem";
  EXPECT_EQ(MetricsHttpServer::Create(cert_only).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto missing = cert_only;
  missing.tls_key_path = "/nonexistent/key.pem";
  const absl::Status status = MetricsHttpServer::Create(missing).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr("'/nonexistent/cert.pem'"));
}

}  // namespace
}  // namespace speech
