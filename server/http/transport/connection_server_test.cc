// The connection loop under httplib: keep-alive past httplib's 5 requests, the handler's view of
// its connection, a client that hangs up seen from another thread, closing after a reply without
// reading the body (the client still reads the reply), and a stop that does not wait for idle
// keep-alive connections.
#include "server/http/transport/connection_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <set>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// A ConnectionServer on a loopback port, listening on its own thread.
class ConnectionServerTest : public ::testing::Test {
 protected:
  void Start() {
    server_.set_keep_alive_max_count(1000);
    server_.set_keep_alive_timeout(60);
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    ASSERT_TRUE(server_.SetListenBacklog(64));
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!server_.is_running() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
    ASSERT_TRUE(server_.is_running());
  }

  void TearDown() override { Stop(); }

  void Stop() {
    if (!listener_.joinable()) return;
    server_.stop();
    listener_.join();
  }

  // A connected raw socket, for what httplib's client cannot do (hang up mid-request).
  int Connect() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, "127.0.0.1", &address.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
    return fd;
  }

  ConnectionServer server_;
  int port_ = 0;
  std::thread listener_;
};

TEST_F(ConnectionServerTest, KeepsOneConnectionForManyRequests) {
  absl::Mutex mu;
  std::set<int> client_ports;
  server_.Get("/x", [&](const httplib::Request& request, httplib::Response& reply) {
    absl::MutexLock lock(&mu);
    client_ports.insert(request.remote_port);
    EXPECT_EQ(request.remote_addr, "127.0.0.1");
    EXPECT_EQ(request.local_port, port_);
    reply.set_content("ok", "text/plain");
  });
  ASSERT_NO_FATAL_FAILURE(Start());
  httplib::Client client("127.0.0.1", port_);
  client.set_keep_alive(true);
  for (int i = 0; i < 20; ++i) {
    httplib::Result result = client.Get("/x");
    ASSERT_TRUE(result) << httplib::to_string(result.error());
    EXPECT_EQ(result->status, 200);
    EXPECT_EQ(result->body, "ok");
  }
  absl::MutexLock lock(&mu);
  EXPECT_EQ(client_ports.size(), 1u);  // httplib alone would have reconnected every 5
}

TEST_F(ConnectionServerTest, HandlersSeeTheirConnection) {
  std::atomic<bool> seen{false};
  server_.Get("/x", [&](const httplib::Request&, httplib::Response& reply) {
    seen = ConnectionServer::Current() != nullptr;
    reply.status = 204;
  });
  ASSERT_NO_FATAL_FAILURE(Start());
  EXPECT_EQ(ConnectionServer::Current(), nullptr);
  httplib::Client client("127.0.0.1", port_);
  ASSERT_TRUE(client.Get("/x"));
  EXPECT_TRUE(seen);
}

TEST_F(ConnectionServerTest, ClientGoneCheckSeesAHangUpFromAnotherThread) {
  absl::Notification in_handler, hung_up, saw_gone;
  std::atomic<bool> gone_before{true};
  server_.Get("/hold", [&](const httplib::Request&, httplib::Response& reply) {
    std::function<bool()> gone = ConnectionServer::Current()->ClientGoneCheck();
    gone_before = gone();
    in_handler.Notify();
    hung_up.WaitForNotification();
    // Asked from another thread, as the batcher does. The kernel sees the FIN at once on
    // loopback; the deadline only bounds a failing test.
    std::thread asker([&] {
      const absl::Time give_up = absl::Now() + absl::Seconds(10);
      while (!gone() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
      if (gone()) saw_gone.Notify();
    });
    asker.join();
    reply.status = 200;
  });
  ASSERT_NO_FATAL_FAILURE(Start());
  const int fd = Connect();
  const std::string request = "GET /hold HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  in_handler.WaitForNotification();
  EXPECT_FALSE(gone_before);
  close(fd);
  hung_up.Notify();
  EXPECT_TRUE(saw_gone.WaitForNotificationWithTimeout(absl::Seconds(20)));
}

TEST_F(ConnectionServerTest, CloseAfterReplyStillDeliversTheReply) {
  std::atomic<int> handled{0};
  server_.set_pre_routing_handler([&](const httplib::Request&, httplib::Response& reply) {
    ++handled;
    reply.status = 413;
    reply.set_content("too large", "text/plain");
    ConnectionServer::Current()->CloseAfterReply(&reply);
    return httplib::Server::HandlerResponse::Handled;
  });
  ASSERT_NO_FATAL_FAILURE(Start());
  httplib::Client client("127.0.0.1", port_);
  const std::string body(8 << 20, 'x');  // far beyond the socket buffers
  httplib::Result result = client.Post("/upload", body, "application/octet-stream");
  ASSERT_TRUE(result) << httplib::to_string(result.error());
  EXPECT_EQ(result->status, 413);
  EXPECT_EQ(result->body, "too large");
  EXPECT_EQ(result->get_header_value("Connection"), "close");
  EXPECT_EQ(handled.load(), 1);
  // The next request goes on a new connection and is answered too.
  result = client.Post("/upload", "small", "text/plain");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 413);
}

TEST_F(ConnectionServerTest, StopDoesNotWaitForIdleKeepAliveConnections) {
  server_.Get("/x", [](const httplib::Request&, httplib::Response& reply) { reply.status = 204; });
  ASSERT_NO_FATAL_FAILURE(Start());
  httplib::Client client("127.0.0.1", port_);
  client.set_keep_alive(true);
  ASSERT_TRUE(client.Get("/x"));
  const absl::Time start = absl::Now();
  Stop();
  // The keep-alive timeout is 60 s; the loop looks for a stop every 100 ms.
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_F(ConnectionServerTest, RepliesAreNeverCompressedButRequestsMayBe) {
  server_.Post("/echo", [](const httplib::Request& request, httplib::Response& reply) {
    reply.set_content(request.body, "application/json");
  });
  ASSERT_NO_FATAL_FAILURE(Start());
  httplib::Client client("127.0.0.1", port_);
  client.set_compress(true);  // gzip the request body
  const std::string body = "{\"a\": \"" + std::string(4096, 'x') + "\"}";
  for (const char* encoding : {"gzip", "br", "gzip, deflate, br"}) {
    httplib::Result result =
        client.Post("/echo", {{"Accept-Encoding", encoding}}, body, "application/json");
    ASSERT_TRUE(result) << encoding;
    EXPECT_FALSE(result->has_header("Content-Encoding")) << encoding;
    EXPECT_EQ(result->body, body) << encoding;
  }
}

TEST_F(ConnectionServerTest, PipelinedRequestsAreAllAnswered) {
  server_.Get(R"(/(\d))", [](const httplib::Request& request, httplib::Response& reply) {
    reply.set_content(request.matches[1].str(), "text/plain");
  });
  ASSERT_NO_FATAL_FAILURE(Start());
  const int fd = Connect();
  const std::string requests =
      "GET /1 HTTP/1.1\r\nHost: t\r\n\r\nGET /2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(send(fd, requests.data(), requests.size(), 0), static_cast<ssize_t>(requests.size()));
  std::string replies;
  char buffer[4096];
  ssize_t received;
  while ((received = recv(fd, buffer, sizeof(buffer), 0)) > 0) replies.append(buffer, received);
  close(fd);
  EXPECT_THAT(replies, StartsWith("HTTP/1.1 200 OK"));
  const size_t second = replies.find("HTTP/1.1 200 OK", 1);
  ASSERT_NE(second, std::string::npos) << replies;
  EXPECT_THAT(replies.substr(0, second), ::testing::EndsWith("\r\n\r\n1"));
  EXPECT_THAT(replies.substr(second), HasSubstr("\r\n\r\n2"));
}

}  // namespace
}  // namespace speech
