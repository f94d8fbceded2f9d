#include "client/perf/transport/infer_transport.h"

#include <memory>

#include "absl/synchronization/notification.h"
#include "tests/fakes/fake_inference_service.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

class GrpcInferTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    auto transport =
        GrpcInferTransport::Create({}, grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                           grpc::InsecureChannelCredentials()));
    ASSERT_TRUE(transport.ok()) << transport.status();
    transport_ = *std::move(transport);
  }
  void TearDown() override { server_->Shutdown(); }

  static inference::ModelInferRequest Request(const std::string& model) {
    inference::ModelInferRequest request;
    request.set_model_name(model);
    auto* input = request.add_inputs();
    input->set_name("AUDIO");
    input->set_datatype("FP32");
    input->add_shape(1);
    input->add_shape(2);
    request.add_raw_input_contents(std::string(8, '\1'));
    return request;
  }

  FakeInferenceService service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<GrpcInferTransport> transport_;
};

TEST_F(GrpcInferTransportTest, BlockingCallSendsTheRequestAndTimesIt) {
  const InferOutcome outcome = transport_->Infer(Request("asr"));
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_GT(outcome.latency, absl::ZeroDuration());
  EXPECT_GE(outcome.latency, outcome.send + outcome.recv);
  EXPECT_EQ(service_.last_request().raw_input_contents(0), std::string(8, '\1'));
}

TEST_F(GrpcInferTransportTest, AsyncCallRunsDoneOnce) {
  const inference::ModelInferRequest request = Request("asr");
  absl::Notification done;
  InferOutcome seen;
  transport_->AsyncInfer(request, [&](const InferOutcome& outcome) {
    seen = outcome;
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_TRUE(seen.status.ok()) << seen.status;
  EXPECT_GT(seen.latency, absl::ZeroDuration());
}

TEST_F(GrpcInferTransportTest, ServerErrorsKeepTheirCode) {
  const InferOutcome outcome = transport_->Infer(Request("nope"));
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kNotFound) << outcome.status;
}

TEST(GrpcInferTransportCreateTest, RejectsBadOptions) {
  EXPECT_FALSE(GrpcInferTransport::Create({}, nullptr).ok());
  GrpcInferTransport::Options options;
  options.request_timeout = absl::ZeroDuration();
  EXPECT_FALSE(GrpcInferTransport::Create(
                   options, grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()))
                   .ok());
}

}  // namespace
}  // namespace speech
