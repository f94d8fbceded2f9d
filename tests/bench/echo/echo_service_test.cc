#include "tests/bench/echo/echo_service.h"

#include <memory>

#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

class EchoServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(port, 0);
    auto client = InferenceClient::Create({"127.0.0.1:" + std::to_string(port)});
    ASSERT_TRUE(client.ok());
    client_ = *std::move(client);
  }
  void TearDown() override { server_->Shutdown(); }

  EchoService service_{EchoService::Options()};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<InferenceClient> client_;
};

TEST_F(EchoServiceTest, EchoesInputsAsOutputs) {
  auto input = GenerateInput("INPUT0", "FP32", {1, 256}, FillMode::kRandom, 7);
  ASSERT_TRUE(input.ok());
  auto response = client_->Infer(MakeInferRequest("identity", "", {*input}, {}));
  ASSERT_TRUE(response.ok()) << response.status();
  auto outputs = OutputsFromResponse(*response);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].name, "OUTPUT0");
  EXPECT_EQ((*outputs)[0].datatype, "FP32");
  EXPECT_EQ((*outputs)[0].shape, (std::vector<int64_t>{1, 256}));
  EXPECT_EQ((*outputs)[0].bytes, input->bytes);
  EXPECT_EQ(response->model_name(), "identity");
}

TEST_F(EchoServiceTest, MetadataAndConfigForAnyModel) {
  auto metadata = client_->ModelMetadata("anything");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->name(), "anything");
  ASSERT_EQ(metadata->inputs_size(), 1);
  EXPECT_EQ(metadata->inputs(0).name(), "INPUT0");
  EXPECT_EQ(metadata->inputs(0).shape_size(), 2);  // batch dimension + [-1]
  EXPECT_EQ(metadata->outputs(0).name(), "OUTPUT0");
  auto config = client_->ModelConfig("anything");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->config().max_batch_size(), 64);
  EXPECT_EQ(client_->ModelStatistics("anything").status().code(), absl::StatusCode::kUnimplemented);
}

TEST(EchoInputTest, ParsesAndNamesOutputs) {
  auto input = ParseEchoInput("INPUT__0:INT64:-1");
  ASSERT_TRUE(input.ok());
  EXPECT_EQ(input->name, "INPUT__0");
  EXPECT_EQ(input->datatype, "INT64");
  EXPECT_EQ(input->dims, (std::vector<int64_t>{-1}));
  EXPECT_EQ(EchoOutputName("INPUT__0"), "OUTPUT__0");
  EXPECT_EQ(EchoOutputName("AUDIO"), "AUDIO");
  EXPECT_FALSE(ParseEchoInput("X:FP32").ok());
  EXPECT_FALSE(ParseEchoInput("X:FP32:a").ok());
}

}  // namespace
}  // namespace speech
