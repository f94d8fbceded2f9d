#include "client/perf/transport/http_infer_transport.h"

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kHeaderLength[] = "Inference-Header-Content-Length";

// What the fake endpoint saw of one request.
struct Seen {
  std::string path;
  std::string content_type;
  std::string header_length;
  std::string body;
  int remote_port = 0;
};

// A KServe v2 endpoint served by httplib on a free loopback port: `handler` answers every POST,
// on httplib's threads. Records every request and how many were in its handlers at once.
class FakeEndpoint {
 public:
  explicit FakeEndpoint(httplib::Server::Handler handler) : handler_(std::move(handler)) {
    // httplib closes a connection after 5 requests by default; the transport must not be
    // blamed for that.
    server_.set_keep_alive_max_count(100000);
    server_.Post(".*", [this](const httplib::Request& request, httplib::Response& reply) {
      {
        absl::MutexLock lock(&mu_);
        seen_.push_back(Seen{request.path, request.get_header_value("Content-Type"),
                             request.get_header_value(kHeaderLength), request.body,
                             request.remote_port});
        ++in_flight_;
        if (in_flight_ > max_in_flight_) max_in_flight_ = in_flight_;
      }
      handler_(request, reply);
      absl::MutexLock lock(&mu_);
      --in_flight_;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    listener_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() before the accept loop runs would be lost.
    while (!server_.is_running()) std::this_thread::yield();
  }
  ~FakeEndpoint() {
    server_.stop();
    listener_.join();
  }

  int port() const { return port_; }
  std::string url() const { return absl::StrCat("127.0.0.1:", port_); }
  std::vector<Seen> seen() const {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  int max_in_flight() const {
    absl::MutexLock lock(&mu_);
    return max_in_flight_;
  }
  // Blocks until `count` requests are inside the handler at once.
  void AwaitInFlight(int count) const {
    struct Target {
      const int* in_flight;
      int count;
    } target{&in_flight_, count};
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](Target* t) { return *t->in_flight >= t->count; }, &target));
  }
  absl::flat_hash_set<int> remote_ports() const {
    absl::flat_hash_set<int> ports;
    for (const Seen& seen : seen()) ports.insert(seen.remote_port);
    return ports;
  }

 private:
  const httplib::Server::Handler handler_;
  httplib::Server server_;
  int port_ = -1;
  std::thread listener_;
  mutable absl::Mutex mu_;
  std::vector<Seen> seen_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int max_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

// Answers like an identity model: every input comes back as OUTPUT0, in binary.
void EchoReply(const httplib::Request& request, httplib::Response& reply) {
  const size_t length = std::stoul(request.get_header_value(kHeaderLength));
  const Json header = Json::parse(request.body.substr(0, length));
  Json outputs = Json::array();
  for (const Json& input : header["inputs"]) {
    outputs.push_back(
        {{"name", "OUTPUT0"},
         {"datatype", input["datatype"]},
         {"shape", input["shape"]},
         {"parameters", {{"binary_data_size", input["parameters"]["binary_data_size"]}}}});
  }
  const std::string json = Json{{"model_name", "identity"}, {"outputs", outputs}}.dump();
  reply.set_header(kHeaderLength, std::to_string(json.size()));
  reply.set_content(json + request.body.substr(length), "application/octet-stream");
}

inference::ModelInferRequest IdentityRequest() {
  inference::ModelInferRequest request;
  request.set_model_name("identity");
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(4);
  request.add_raw_input_contents(std::string("\x00\x00\x80\x3f", 4) + std::string(12, '\x02'));
  request.add_outputs()->set_name("OUTPUT0");
  return request;
}

std::unique_ptr<HttpInferTransport> MakeTransport(const std::string& url,
                                                  HttpInferTransport::Options options = {}) {
  absl::StatusOr<std::unique_ptr<HttpInferTransport>> transport =
      HttpInferTransport::Create(options, url);
  EXPECT_TRUE(transport.ok()) << transport.status();
  return transport.ok() ? *std::move(transport) : nullptr;
}

TEST(HttpInferTransportTest, CreateValidates) {
  EXPECT_EQ(HttpInferTransport::Create({}, "https://h:443").status().code(),
            absl::StatusCode::kInvalidArgument);
  HttpInferTransport::Options options;
  options.max_async_threads = 0;
  EXPECT_THAT(HttpInferTransport::Create(options, "h:1").status().message(),
              HasSubstr("max_async_threads must be positive; was 0"));
  options = {};
  options.client.io_timeout = absl::ZeroDuration();
  EXPECT_THAT(HttpInferTransport::Create(options, "h:1").status().message(),
              HasSubstr("io_timeout"));
  EXPECT_TRUE(HttpInferTransport::Create({}, "http://localhost:8000/").ok());
}

TEST(HttpInferTransportTest, PostsTheBinaryBodyAndChecksTheReply) {
  FakeEndpoint endpoint(EchoReply);
  ASSERT_GT(endpoint.port(), 0);
  std::unique_ptr<HttpInferTransport> transport = MakeTransport(endpoint.url());
  ASSERT_NE(transport, nullptr);
  inference::ModelInferRequest request = IdentityRequest();
  request.set_model_version("2");
  const InferOutcome outcome = transport->Infer(request);
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_GT(outcome.latency, absl::ZeroDuration());
  EXPECT_GE(outcome.latency, outcome.send + outcome.recv);

  const std::vector<Seen> seen = endpoint.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].path, "/v2/models/identity/versions/2/infer");
  EXPECT_EQ(seen[0].content_type, "application/octet-stream");
  size_t length = 0;
  ASSERT_TRUE(absl::SimpleAtoi(seen[0].header_length, &length)) << seen[0].header_length;
  ASSERT_EQ(seen[0].body.size(), length + 16);
  EXPECT_EQ(seen[0].body.substr(length), request.raw_input_contents(0));
  const Json header = Json::parse(seen[0].body.substr(0, length));
  EXPECT_EQ(header["inputs"][0]["name"], "INPUT0");
  EXPECT_EQ(header["inputs"][0]["parameters"]["binary_data_size"], 16);
  EXPECT_EQ(header["outputs"][0]["name"], "OUTPUT0");
}

TEST(HttpInferTransportTest, ServerErrorsKeepTheirCodeAndMessage) {
  FakeEndpoint endpoint([](const httplib::Request& request, httplib::Response& reply) {
    if (request.path == "/v2/models/bad/infer") {
      reply.status = 400;
      reply.set_content(R"({"error":"unexpected shape for input 'INPUT0'"})", "application/json");
    } else if (request.path == "/v2/models/missing/infer") {
      reply.status = 404;
      reply.set_content(R"({"error":"unknown model 'missing'"})", "application/json");
    } else {
      reply.status = 503;
      reply.set_content(R"({"error":"the queue of model 'busy' is full"})", "application/json");
    }
  });
  std::unique_ptr<HttpInferTransport> transport = MakeTransport(endpoint.url());
  ASSERT_NE(transport, nullptr);
  struct Case {
    const char* model;
    absl::StatusCode code;
    const char* message;
  };
  for (const Case& c :
       {Case{"bad", absl::StatusCode::kInvalidArgument, "unexpected shape for input 'INPUT0'"},
        Case{"missing", absl::StatusCode::kNotFound, "unknown model 'missing'"},
        Case{"busy", absl::StatusCode::kUnavailable, "the queue of model 'busy' is full"}}) {
    inference::ModelInferRequest request = IdentityRequest();
    request.set_model_name(c.model);
    const InferOutcome outcome = transport->Infer(request);
    EXPECT_EQ(outcome.status.code(), c.code) << c.model << ": " << outcome.status;
    EXPECT_EQ(outcome.status.message(), c.message);
    EXPECT_GT(outcome.latency, absl::ZeroDuration());
  }
  // An error reply leaves the connection usable: all three went over one.
  EXPECT_EQ(endpoint.remote_ports().size(), 1u);
}

TEST(HttpInferTransportTest, MalformedRepliesAreDataLoss) {
  FakeEndpoint endpoint([](const httplib::Request& request, httplib::Response& reply) {
    if (request.path == "/v2/models/garbled/infer") {
      reply.set_content(R"({"outputs": [)", "application/json");
    } else if (request.path == "/v2/models/short/infer") {
      // Declares 16 bytes of OUTPUT0 but sends 3.
      const std::string json =
          R"({"outputs":[{"name":"OUTPUT0","parameters":{"binary_data_size":16}}]})";
      reply.set_header(kHeaderLength, std::to_string(json.size()));
      reply.set_content(json + "abc", "application/octet-stream");
    } else {
      reply.set_content(R"({"outputs":[{"name":"OTHER","data":[1]}]})", "application/json");
    }
  });
  std::unique_ptr<HttpInferTransport> transport = MakeTransport(endpoint.url());
  ASSERT_NE(transport, nullptr);
  struct Case {
    const char* model;
    const char* why;
  };
  for (const Case& c : {Case{"garbled", "does not parse"},
                        Case{"short", "more than the 3 bytes that follow the JSON header"},
                        Case{"other", "requested output OUTPUT0 is missing"}}) {
    inference::ModelInferRequest request = IdentityRequest();
    request.set_model_name(c.model);
    const InferOutcome outcome = transport->Infer(request);
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kDataLoss) << c.model;
    EXPECT_THAT(outcome.status.message(), HasSubstr(c.why)) << c.model;
  }
}

TEST(HttpInferTransportTest, RequestItCannotEncodeNeverLeaves) {
  FakeEndpoint endpoint(EchoReply);
  std::unique_ptr<HttpInferTransport> transport = MakeTransport(endpoint.url());
  ASSERT_NE(transport, nullptr);
  inference::ModelInferRequest typed = IdentityRequest();
  typed.clear_raw_input_contents();
  const InferOutcome outcome = transport->Infer(typed);
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(endpoint.seen().empty());
}

TEST(HttpInferTransportTest, RefusedConnectionIsUnavailableAndNamesTheEndpoint) {
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
  std::unique_ptr<HttpInferTransport> transport = MakeTransport(url);
  ASSERT_NE(transport, nullptr);
  for (int i = 0; i < 2; ++i) {  // the second with the fresh client the first failure left
    const InferOutcome outcome = transport->Infer(IdentityRequest());
    EXPECT_EQ(outcome.status.code(), absl::StatusCode::kUnavailable) << outcome.status;
    EXPECT_THAT(outcome.status.message(), HasSubstr("no HTTP reply from " + url));
  }
  close(fd);
}

TEST(HttpInferTransportTest, ReadTimeoutIsUnavailableAndTheNextRequestReconnects) {
  absl::Notification release;
  FakeEndpoint endpoint([&](const httplib::Request& request, httplib::Response& reply) {
    if (request.path == "/v2/models/stuck/infer") release.WaitForNotification();
    EchoReply(request, reply);
  });
  HttpInferTransport::Options options;
  options.client.io_timeout = absl::Milliseconds(100);
  std::unique_ptr<HttpInferTransport> transport = MakeTransport(endpoint.url(), options);
  ASSERT_NE(transport, nullptr);
  inference::ModelInferRequest stuck = IdentityRequest();
  stuck.set_model_name("stuck");
  const InferOutcome timed_out = transport->Infer(stuck);
  EXPECT_EQ(timed_out.status.code(), absl::StatusCode::kUnavailable) << timed_out.status;
  EXPECT_GE(timed_out.latency, absl::Milliseconds(100));
  const InferOutcome next = transport->Infer(IdentityRequest());
  EXPECT_TRUE(next.status.ok()) << next.status;
  release.Notify();
  EXPECT_EQ(endpoint.remote_ports().size(), 2u);
}

TEST(HttpInferTransportTest, SurvivesTheServerClosingTheConnection) {
  FakeEndpoint endpoint([](const httplib::Request& request, httplib::Response& reply) {
    EchoReply(request, reply);
    reply.set_header("Connection", "close");
  });
  std::unique_ptr<HttpInferTransport> transport = MakeTransport(endpoint.url());
  ASSERT_NE(transport, nullptr);
  for (int i = 0; i < 3; ++i) {
    const InferOutcome outcome = transport->Infer(IdentityRequest());
    EXPECT_TRUE(outcome.status.ok()) << i << ": " << outcome.status;
  }
  EXPECT_EQ(endpoint.remote_ports().size(), 3u);
}

TEST(HttpInferTransportTest, ConcurrentCallersKeepOneConnectionEach) {
  FakeEndpoint endpoint(EchoReply);
  std::unique_ptr<HttpInferTransport> transport = MakeTransport(endpoint.url());
  ASSERT_NE(transport, nullptr);
  constexpr int kCallers = 4, kRequests = 25;
  const inference::ModelInferRequest request = IdentityRequest();
  std::vector<absl::Status> failures[kCallers];
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = 0; i < kRequests; ++i) {
        const InferOutcome outcome = transport->Infer(request);
        if (!outcome.status.ok()) failures[c].push_back(outcome.status);
      }
    });
  }
  for (std::thread& caller : callers) caller.join();
  for (int c = 0; c < kCallers; ++c) EXPECT_TRUE(failures[c].empty()) << failures[c][0];
  EXPECT_EQ(endpoint.seen().size(), static_cast<size_t>(kCallers * kRequests));
  // Never more connections than callers at once: a finished request's client is reused.
  EXPECT_LE(endpoint.remote_ports().size(), static_cast<size_t>(kCallers));
}

TEST(HttpInferTransportTest, AsyncInferCapsItsThreadsAndTheDestructorFinishesQueuedRequests) {
  absl::Notification release;
  FakeEndpoint endpoint([&](const httplib::Request& request, httplib::Response& reply) {
    release.WaitForNotification();
    EchoReply(request, reply);
  });
  HttpInferTransport::Options options;
  options.max_async_threads = 2;
  std::unique_ptr<HttpInferTransport> transport = MakeTransport(endpoint.url(), options);
  ASSERT_NE(transport, nullptr);
  constexpr int kRequests = 6;
  const inference::ModelInferRequest request = IdentityRequest();
  absl::Mutex mu;
  int done = 0;
  std::vector<absl::Status> failures;
  for (int i = 0; i < kRequests; ++i) {
    transport->AsyncInfer(request, [&](const InferOutcome& outcome) {
      absl::MutexLock lock(&mu);
      ++done;
      if (!outcome.status.ok()) failures.push_back(outcome.status);
      EXPECT_GT(outcome.latency, absl::ZeroDuration());
    });
  }
  endpoint.AwaitInFlight(2);  // both threads busy; four requests wait in the queue
  {
    absl::MutexLock lock(&mu);
    EXPECT_EQ(done, 0);
  }
  release.Notify();
  transport.reset();  // runs the four queued requests before it returns
  absl::MutexLock lock(&mu);
  EXPECT_EQ(done, kRequests);
  EXPECT_TRUE(failures.empty()) << failures[0];
  EXPECT_EQ(endpoint.max_in_flight(), 2);
  EXPECT_LE(endpoint.remote_ports().size(), 2u);
}

}  // namespace
}  // namespace speech
