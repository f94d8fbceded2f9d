#include "client/inference_client.h"

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "tests/fakes/fake_inference_service.h"
#include "gmock/gmock.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/channel_arguments.h"
#include "gtest/gtest.h"

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
