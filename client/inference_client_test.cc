#include "client/inference_client.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"
#include "tests/fakes/fake_inference_service.h"
#include "tests/fakes/fake_replica.h"

namespace speech {
namespace {

using ::grpc::health::v1::HealthCheckResponse;
using ::testing::HasSubstr;

class InferenceClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&inference_);
    builder.RegisterService(&health_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    absl::StatusOr<std::unique_ptr<InferenceClient>> client = InferenceClient::Create(
        InferenceClient::Options(), server_->InProcessChannel(grpc::ChannelArguments()));
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  void TearDown() override {
    client_.reset();
    server_->Shutdown();
  }

  FakeInferenceService inference_;
  FakeHealthService health_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<InferenceClient> client_;
};

TEST_F(InferenceClientTest, ReturnsAnswers) {
  EXPECT_EQ(client_->ServerLive().value(), true);
  EXPECT_EQ(client_->ModelReady("asr").value(), true);
  EXPECT_EQ(client_->ModelReady("asr", "9").value(), false);
  EXPECT_EQ(client_->ModelMetadata("asr").value().versions(0), "1");
  EXPECT_EQ(client_->ModelConfig("asr").value().config().max_batch_size(), 8);
  EXPECT_EQ(client_->ServerMetadata().value().name(), "fake");
  EXPECT_EQ(client_->HealthCheck().value(), HealthCheckResponse::SERVING);
}

TEST_F(InferenceClientTest, KeepsGrpcErrorCodesAndMessages) {
  absl::StatusOr<inference::ModelMetadataResponse> missing = client_->ModelMetadata("tts");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "unknown model: tts");
  EXPECT_EQ(client_->HealthCheck("other").status().code(), absl::StatusCode::kNotFound);
  // The fake implements neither ServerReady nor RepositoryIndex.
  EXPECT_EQ(client_->ServerReady().status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_EQ(client_->RepositoryIndex().status().code(), absl::StatusCode::kUnimplemented);
}

TEST_F(InferenceClientTest, InfersWithDefaultAndPerCallDeadlines) {
  inference::ModelInferRequest request;
  request.set_model_name("asr");
  request.add_inputs()->set_name("AUDIO");
  request.add_raw_input_contents("abcd");
  absl::StatusOr<inference::ModelInferResponse> response = client_->Infer(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->raw_output_contents(0), "abcd");
  EXPECT_TRUE(client_->Infer(request, absl::InfiniteDuration()).ok());
  EXPECT_EQ(client_->Infer(request, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  request.set_model_name("tts");
  EXPECT_EQ(client_->Infer(request).status().code(), absl::StatusCode::kNotFound);
}

TEST(InferenceClientCreateTest, ValidatesOptions) {
  InferenceClient::Options options;
  options.target = "";
  EXPECT_THAT(InferenceClient::Create(options).status().message(), HasSubstr("target"));
  options.target = "localhost:8001";
  options.default_deadline = absl::ZeroDuration();
  EXPECT_THAT(InferenceClient::Create(options).status().message(),
              HasSubstr("default_deadline must be positive; was 0"));
  options.default_deadline = absl::Seconds(1);
  options.max_message_size_bytes = 0;
  EXPECT_EQ(InferenceClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.max_message_size_bytes = 1 << 20;
  EXPECT_TRUE(InferenceClient::Create(options).ok());
  options.max_attempts = 0;
  EXPECT_THAT(InferenceClient::Create(options).status().message(),
              HasSubstr("max_attempts must be in [1, 5]; was 0"));
  options.max_attempts = 6;
  EXPECT_EQ(InferenceClient::Create(options).status().code(), absl::StatusCode::kInvalidArgument);
  options.max_attempts = 1;
  EXPECT_TRUE(InferenceClient::Create(options).ok());
  options.initial_backoff = absl::ZeroDuration();
  EXPECT_THAT(InferenceClient::Create(options).status().message(),
              HasSubstr("initial_backoff must be positive"));
  options.initial_backoff = absl::Seconds(2);
  options.max_backoff = absl::Seconds(1);
  EXPECT_THAT(InferenceClient::Create(options).status().message(),
              HasSubstr("max_backoff must be at least initial_backoff (2s); was 1s"));
  options.max_backoff = absl::InfiniteDuration();
  EXPECT_THAT(InferenceClient::Create(options).status().message(),
              HasSubstr("max_backoff must be finite"));
  options.max_backoff = absl::Seconds(2);
  options.target = "127.0.0.1:8001,speech-b:8001";
  EXPECT_THAT(InferenceClient::Create(options).status().message(),
              HasSubstr("\"speech-b:8001\" in a list of replicas is not an IP address"));
  options.target = "127.0.0.1:8001, 127.0.0.1:8011";
  EXPECT_TRUE(InferenceClient::Create(options).ok());
}

TEST(ChannelTargetTest, LeavesOneAddressAsItIs) {
  for (const char* target :
       {"localhost:8001", "dns:///speech-server-headless:8001", "127.0.0.1:8001", "[::1]:8001",
        "unix:/tmp/speech.sock", "ipv4:127.0.0.1:8001,127.0.0.1:8011"}) {
    EXPECT_EQ(ChannelTarget(target).value(), target);
  }
}

TEST(ChannelTargetTest, WritesAListAsGrpcsStaticList) {
  EXPECT_EQ(ChannelTarget("127.0.0.1:8001,127.0.0.1:8011").value(),
            "ipv4:127.0.0.1:8001,127.0.0.1:8011");
  EXPECT_EQ(ChannelTarget(" 10.0.0.1:8001 ,10.0.0.2:8001,  10.0.0.3:9001 ").value(),
            "ipv4:10.0.0.1:8001,10.0.0.2:8001,10.0.0.3:9001");
  EXPECT_EQ(ChannelTarget("[::1]:8001,[fd00::2]:8001").value(), "ipv6:[::1]:8001,[fd00::2]:8001");
}

TEST(ChannelTargetTest, RefusesWhatAListCannotHold) {
  const auto message = [](const char* target) {
    return std::string(ChannelTarget(target).status().message());
  };
  EXPECT_THAT(message("127.0.0.1:8001,"), HasSubstr("empty address in the list of replicas"));
  EXPECT_THAT(message("127.0.0.1:8001,,127.0.0.1:8011"), HasSubstr("empty address"));
  EXPECT_THAT(message("localhost:8001,localhost:8011"),
              HasSubstr("\"localhost:8001\" in a list of replicas is not an IP address"));
  EXPECT_THAT(message("localhost:8001,localhost:8011"), HasSubstr("one DNS name"));
  EXPECT_THAT(message("127.0.0.1,127.0.0.2"), HasSubstr("has no port"));
  EXPECT_THAT(message("127.0.0.1:0,127.0.0.2:1"), HasSubstr("needs a port in 1..65535"));
  EXPECT_THAT(message("127.0.0.1:65536,127.0.0.2:1"), HasSubstr("needs a port in 1..65535"));
  EXPECT_THAT(message("127.0.0.1:+80,127.0.0.2:1"), HasSubstr("needs a port in 1..65535"));
  EXPECT_THAT(message("::1:8001,::1:8011"), HasSubstr("needs brackets: [IPV6]:PORT"));
  EXPECT_THAT(message("[::1]8001,[::1]:8011"), HasSubstr("needs the form [IPV6]:PORT"));
  EXPECT_THAT(message("127.0.0.1:8001,[::1]:8011"), HasSubstr("mixes IPv4 and IPv6"));
  EXPECT_EQ(ChannelTarget("a:1,b:2").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ChannelServiceConfigTest, RoundRobinWithARetryPolicyForUnavailable) {
  InferenceClient::Options options;
  EXPECT_EQ(ChannelServiceConfig(options),
            R"({"loadBalancingConfig":[{"round_robin":{}}],"methodConfig":[{"name":[{}],)"
            R"("retryPolicy":{"maxAttempts":3,"initialBackoff":"0.050000000s",)"
            R"("maxBackoff":"0.500000000s","backoffMultiplier":2,)"
            R"("retryableStatusCodes":["UNAVAILABLE"]}}]})");
  options.max_attempts = 5;
  options.initial_backoff = absl::Microseconds(1);
  options.max_backoff = absl::Seconds(12) + absl::Nanoseconds(3);
  EXPECT_THAT(ChannelServiceConfig(options),
              HasSubstr(R"("maxAttempts":5,"initialBackoff":"0.000001000s",)"
                        R"("maxBackoff":"12.000000003s")"));
  options.max_attempts = 1;
  EXPECT_EQ(ChannelServiceConfig(options), R"({"loadBalancingConfig":[{"round_robin":{}}]})");
}

TEST(RetryBackoffBoundTest, DoublesUpToTheCap) {
  InferenceClient::Options options;
  options.initial_backoff = absl::Milliseconds(50);
  options.max_backoff = absl::Milliseconds(300);
  std::vector<absl::Duration> bounds;
  for (int retry = 1; retry <= 6; ++retry) bounds.push_back(RetryBackoffBound(options, retry));
  EXPECT_THAT(bounds, ::testing::ElementsAre(absl::Milliseconds(50), absl::Milliseconds(100),
                                             absl::Milliseconds(200), absl::Milliseconds(300),
                                             absl::Milliseconds(300), absl::Milliseconds(300)));
  EXPECT_EQ(RetryBackoffBound(options, 1000), absl::Milliseconds(300));
}

inference::ModelInferRequest EchoRequest(size_t bytes = 4) {
  inference::ModelInferRequest request;
  request.set_model_name("echo");
  auto* input = request.add_inputs();
  input->set_name("IN");
  input->set_datatype("BYTES");
  input->add_shape(1);
  request.add_raw_input_contents(std::string(bytes, 'x'));
  return request;
}

// Three replicas on loopback and one client over all of them, through the comma-separated list.
class ReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> addresses;
    for (auto& replica : replicas_) {
      replica = FakeReplica::Start();
      ASSERT_NE(replica, nullptr);
      addresses.push_back(replica->address());
    }
    InferenceClient::Options options;
    options.target = absl::StrJoin(addresses, ",");
    options.default_deadline = absl::Seconds(30);
    options.initial_backoff = absl::Milliseconds(1);
    options.max_backoff = absl::Milliseconds(5);
    auto client = InferenceClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    WarmUp(*client_);
  }

  // round_robin is READY once one replica is, and sends calls only to connected ones: calls until
  // `client` has reached every replica (bounded in time, not in calls, for a loaded machine).
  void WarmUp(const InferenceClient& client) {
    ASSERT_TRUE(client.WaitForConnected(absl::Seconds(30)).ok());
    const int before[3] = {Served(0), Served(1), Served(2)};
    const absl::Time give_up = absl::Now() + absl::Seconds(30);
    while (Served(0) == before[0] || Served(1) == before[1] || Served(2) == before[2]) {
      ASSERT_LT(absl::Now(), give_up) << "not every replica was reached";
      ASSERT_TRUE(client.Infer(EchoRequest()).ok());
    }
  }

  int Served(int replica) const { return replicas_[replica]->served(); }
  int Calls(int replica) const { return replicas_[replica]->infer_calls(); }
  int ServedInAll() const { return Served(0) + Served(1) + Served(2); }

  // ModelInfer on the typed stub: gRPC's retries only, without Infer's own.
  grpc::Status StubInfer(const inference::ModelInferRequest& request) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
    inference::ModelInferResponse response;
    return client_->stub()->ModelInfer(&context, request, &response);
  }

  std::unique_ptr<FakeReplica> replicas_[3];
  std::unique_ptr<InferenceClient> client_;
};

TEST_F(ReplicasTest, RoundRobinSendsEachCallToTheNextReplica) {
  const int before[3] = {Served(0), Served(1), Served(2)};
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<inference::ModelInferResponse> reply = client_->Infer(EchoRequest());
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->raw_output_contents(0), "xxxx");
  }
  for (int r = 0; r < 3; ++r) EXPECT_EQ(Served(r) - before[r], 10) << "replica " << r;
}

TEST_F(ReplicasTest, GrpcRetriesARefusalOnAnotherReplica) {
  replicas_[0]->set_mode(FakeReplica::Mode::kRefuse);
  const int served = ServedInAll();
  const int served_by_0 = Served(0);
  const int refused = Calls(0);
  // Through the stub, so that only gRPC's retry policy can save the calls it sends to replica 0.
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(StubInfer(EchoRequest()).ok()) << "call " << i;
  EXPECT_EQ(ServedInAll() - served, 30);
  EXPECT_EQ(Served(0), served_by_0);
  EXPECT_GE(Calls(0) - refused, 5) << "replica 0 should have seen (and refused) its turns";
}

TEST_F(ReplicasTest, GrpcRetriesARequestLargerThanItsDefaultRetryBuffer) {
  replicas_[0]->set_mode(FakeReplica::Mode::kRefuse);
  const int refused = Calls(0);
  // gRPC's default per-call retry buffer is 256 KiB; the client raises it.
  for (int i = 0; i < 9; ++i) ASSERT_TRUE(StubInfer(EchoRequest(1 << 20)).ok()) << "call " << i;
  EXPECT_GT(Calls(0) - refused, 0);
}

TEST_F(ReplicasTest, InferRetriesARefusalGrpcCannot) {
  replicas_[0]->set_mode(FakeReplica::Mode::kRefuseAfterHeaders);
  // Headers commit a call: gRPC's policy gives up, and the stub sees the UNAVAILABLE.
  int failed = 0;
  for (int i = 0; i < 9; ++i) {
    const grpc::Status status = StubInfer(EchoRequest());
    if (!status.ok()) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
      ++failed;
    }
  }
  EXPECT_GT(failed, 0);
  // Infer calls again, and round_robin takes the next call to the next replica.
  const int refused = Calls(0);
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<inference::ModelInferResponse> reply = client_->Infer(EchoRequest());
    ASSERT_TRUE(reply.ok()) << "call " << i << ": " << reply.status();
  }
  EXPECT_GE(Calls(0) - refused, 5);
}

TEST_F(ReplicasTest, AChannelOfOnesOwnWithTheClientsArgumentsBalancesAndRetriesToo) {
  InferenceClient::Options options = client_->options();
  auto client = InferenceClient::Create(
      options,
      grpc::CreateCustomChannel(ChannelTarget(options.target).value(),
                                grpc::InsecureChannelCredentials(), MakeChannelArguments(options)));
  ASSERT_TRUE(client.ok()) << client.status();
  WarmUp(**client);
  replicas_[0]->set_mode(FakeReplica::Mode::kRefuse);
  const int refused = Calls(0);
  for (int i = 0; i < 30; ++i) {
    grpc::ClientContext context;
    inference::ModelInferResponse response;
    ASSERT_TRUE((*client)->stub()->ModelInfer(&context, EchoRequest(), &response).ok());
  }
  EXPECT_GE(Calls(0) - refused, 5);
}

TEST_F(ReplicasTest, SurvivorsServeWhenAReplicaGoesAway) {
  replicas_[0]->Shutdown();
  const int served = ServedInAll();
  for (int i = 0; i < 30; ++i) {
    absl::StatusOr<inference::ModelInferResponse> reply = client_->Infer(EchoRequest());
    ASSERT_TRUE(reply.ok()) << "call " << i << ": " << reply.status();
  }
  EXPECT_EQ(ServedInAll() - served, 30);
  EXPECT_GT(Served(1), 0);
  EXPECT_GT(Served(2), 0);
}

// One replica that refuses: the retries are bounded and the refusal comes back.
class RefusingReplicaTest : public ::testing::Test {
 protected:
  std::unique_ptr<InferenceClient> Client(int max_attempts) {
    InferenceClient::Options options;
    options.target = replica_->address();
    options.max_attempts = max_attempts;
    options.initial_backoff = absl::Milliseconds(1);
    options.max_backoff = absl::Milliseconds(2);
    auto client = InferenceClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    if (!client.ok()) return nullptr;
    EXPECT_TRUE((*client)->WaitForConnected(absl::Seconds(30)).ok());
    return *std::move(client);
  }

  std::unique_ptr<FakeReplica> replica_ = FakeReplica::Start();
};

TEST_F(RefusingReplicaTest, OneAttemptWhenRetriesAreOff) {
  ASSERT_NE(replica_, nullptr);
  replica_->set_mode(FakeReplica::Mode::kRefuse);
  std::unique_ptr<InferenceClient> client = Client(/*max_attempts=*/1);
  ASSERT_NE(client, nullptr);
  absl::StatusOr<inference::ModelInferResponse> reply = client->Infer(EchoRequest());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(reply.status().message(), "fake replica refuses");
  EXPECT_EQ(replica_->infer_calls(), 1);
}

TEST_F(RefusingReplicaTest, AtMostMaxAttemptsSquaredAttempts) {
  ASSERT_NE(replica_, nullptr);
  replica_->set_mode(FakeReplica::Mode::kRefuse);
  std::unique_ptr<InferenceClient> client = Client(/*max_attempts=*/3);
  ASSERT_NE(client, nullptr);
  absl::StatusOr<inference::ModelInferResponse> reply = client->Infer(EchoRequest());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(reply.status().message(), "fake replica refuses");
  // gRPC's three attempts for each of Infer's three calls.
  EXPECT_EQ(replica_->infer_calls(), 9);
  // After headers gRPC cannot retry: one attempt for each of Infer's calls.
  replica_->set_mode(FakeReplica::Mode::kRefuseAfterHeaders);
  reply = client->Infer(EchoRequest());
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(replica_->infer_calls(), 12);
  // Other calls have gRPC's layer only.
  replica_->set_mode(FakeReplica::Mode::kServe);
  EXPECT_TRUE(client->Infer(EchoRequest()).ok());
}

TEST_F(RefusingReplicaTest, RetriesStopAtTheDeadline) {
  ASSERT_NE(replica_, nullptr);
  replica_->set_mode(FakeReplica::Mode::kRefuseAfterHeaders);
  InferenceClient::Options options;
  options.target = replica_->address();
  // Infer's waits could reach a minute; the deadline is far shorter.
  options.initial_backoff = absl::Seconds(60);
  options.max_backoff = absl::Seconds(60);
  auto client = InferenceClient::Create(options);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE((*client)->WaitForConnected(absl::Seconds(30)).ok());
  const absl::Time start = absl::Now();
  absl::StatusOr<inference::ModelInferResponse> reply =
      (*client)->Infer(EchoRequest(), absl::Milliseconds(500));
  // UNAVAILABLE, or when the random wait happened to be short, the deadline of the next call.
  EXPECT_THAT(reply.status().code(), ::testing::AnyOf(absl::StatusCode::kUnavailable,
                                                      absl::StatusCode::kDeadlineExceeded));
  // Only an upper bound, and a loose one: a retry that slept its minute would exceed it.
  EXPECT_LT(absl::Now() - start, absl::Seconds(30));
}

TEST(NoReplicaTest, FailsFastWithUnavailable) {
  // Nothing listens on the replica's port once it is shut down.
  std::unique_ptr<FakeReplica> replica = FakeReplica::Start();
  ASSERT_NE(replica, nullptr);
  InferenceClient::Options options;
  options.target = absl::StrCat(replica->address(), ",", replica->address());
  replica->Shutdown();
  auto client = InferenceClient::Create(options);
  ASSERT_TRUE(client.ok());
  // Not DEADLINE_EXCEEDED (30 s): gRPC's attempts fail at once, and Infer makes no more calls.
  EXPECT_EQ((*client)->Infer(EchoRequest()).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*client)->ServerLive().status().code(), absl::StatusCode::kUnavailable);
}

TEST(FromGrpcStatusTest, MapsEveryCode) {
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  for (int code = 1; code <= 16; ++code) {
    const absl::Status status =
        FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(code), "why"));
    EXPECT_EQ(static_cast<int>(status.code()), code);
    EXPECT_EQ(status.message(), "why");
  }
  EXPECT_EQ(FromGrpcStatus(grpc::Status(grpc::StatusCode::UNAVAILABLE, "")).code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace speech
