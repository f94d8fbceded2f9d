// End to end with system shared memory: the real speech_server and the default repository, with
// regions a client creates on the same host (shm_open) and registers over gRPC and over REST.
// One second of 16 kHz audio goes to wav2vec2 through a region and its logits come back through
// another; the reply equals the reply of the same audio sent through the socket. Then the
// regions that are wrong (unknown, too small, outside the object, missing objects), each with
// its status and message, and the server still serving after them.
#include <httplib.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/inference_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/shared_memory/shared_memory_test_support.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr int kSamples = 16000;  // one second at 16 kHz
constexpr size_t kAudioBytes = kSamples * sizeof(float);
constexpr size_t kLogitsRegionBytes = 1 << 16;  // 49 frames x 32 symbols x 4 bytes fit easily

// A vowel-like tone with a slow amplitude change: deterministic, finite, speech-like in range.
std::string OneSecondOfAudio() {
  std::vector<float> samples(kSamples);
  for (int i = 0; i < kSamples; ++i) {
    const double t = i / 16000.0;
    samples[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 220 * t) * (0.5 + 0.5 * t) +
                                    0.1 * std::sin(2 * M_PI * 660 * t));
  }
  return std::string(reinterpret_cast<const char*>(samples.data()), kAudioBytes);
}

// wav2vec2 on one row of AUDIO [1, 16000]; `audio` is its bytes, or empty when a region holds
// them. LOGITS and FRAMES asked for by name.
inference::ModelInferRequest Wav2Vec2Request(const std::string& audio) {
  inference::ModelInferRequest request;
  request.set_model_name("wav2vec2");
  auto* input = request.add_inputs();
  input->set_name("AUDIO");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(kSamples);
  if (!audio.empty()) request.add_raw_input_contents(audio);
  request.add_outputs()->set_name("LOGITS");
  request.add_outputs()->set_name("FRAMES");
  return request;
}

class SharedMemoryEndToEndTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto server = ServerProcess::Start(
        "server/speech_server",
        {absl::StrCat("--model-repository=", kDefaultRepository), "--allow-metrics=false"});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = server->release();
    auto client = InferenceClient::Create(InferenceClient::Options{server_->grpc_target()});
    ASSERT_TRUE(client.ok()) << client.status();
    grpc_ = client->release();
    // The reply through the socket, that every shared-memory reply must equal.
    auto reply = grpc_->Infer(Wav2Vec2Request(OneSecondOfAudio()));
    ASSERT_TRUE(reply.ok()) << reply.status();
    socket_reply_ = new inference::ModelInferResponse(*std::move(reply));
  }

  static void TearDownTestSuite() {
    delete socket_reply_;
    delete grpc_;
    if (server_ != nullptr) EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    delete server_;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_NE(socket_reply_, nullptr);
    ASSERT_EQ(socket_reply_->outputs(0).name(), "LOGITS");
    std::memcpy(audio_.data(), OneSecondOfAudio().data(), kAudioBytes);
    http_ = std::make_unique<httplib::Client>("127.0.0.1", server_->http_port());
    http_->set_read_timeout(60);
  }

  void TearDown() override { EXPECT_TRUE(grpc_->UnregisterSystemSharedMemory().ok()); }

  // The logits the socket reply carries, and the bytes the output region holds of them.
  static const std::string& SocketLogits() { return socket_reply_->raw_output_contents(0); }
  std::string RegionLogits() const { return std::string(logits_.data(), SocketLogits().size()); }

  void ExpectStillServing() {
    auto reply = grpc_->Infer(Wav2Vec2Request(OneSecondOfAudio()));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->raw_output_contents(0), SocketLogits());
  }

  static inline ServerProcess* server_ = nullptr;
  static inline InferenceClient* grpc_ = nullptr;
  static inline inference::ModelInferResponse* socket_reply_ = nullptr;
  TestSharedMemory audio_{"e2e_audio", kAudioBytes};
  TestSharedMemory logits_{"e2e_logits", kLogitsRegionBytes};
  std::unique_ptr<httplib::Client> http_;
};

TEST_F(SharedMemoryEndToEndTest, GrpcAudioInAndLogitsOutEqualTheSocketReply) {
  ASSERT_TRUE(grpc_->RegisterSystemSharedMemory("audio", audio_.key(), kAudioBytes).ok());
  ASSERT_TRUE(grpc_->RegisterSystemSharedMemory("logits", logits_.key(), kLogitsRegionBytes).ok());
  auto status = grpc_->SystemSharedMemoryStatus();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_EQ(status->regions().size(), 2u);
  EXPECT_EQ(status->regions().at("audio").byte_size(), kAudioBytes);

  inference::ModelInferRequest request = Wav2Vec2Request("");
  SetSharedMemoryRegion(request.mutable_inputs(0)->mutable_parameters(), "audio", kAudioBytes);
  SetSharedMemoryRegion(request.mutable_outputs(0)->mutable_parameters(), "logits",
                        kLogitsRegionBytes);
  // Each request overwrites the region; the reply (and so the bytes) must be the same each time.
  for (int round = 0; round < 3; ++round) {
    std::memset(logits_.data(), 0, kLogitsRegionBytes);
    auto reply = grpc_->Infer(request);
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_EQ(reply->outputs_size(), 2);
    EXPECT_EQ(reply->outputs(0).shape(0), 1);
    EXPECT_EQ(reply->outputs(0).shape(1), socket_reply_->outputs(0).shape(1));
    EXPECT_EQ(reply->outputs(0).parameters().at("shared_memory_region").string_param(), "logits");
    EXPECT_TRUE(reply->raw_output_contents(0).empty());
    EXPECT_EQ(reply->raw_output_contents(1), socket_reply_->raw_output_contents(1));  // FRAMES
    EXPECT_EQ(RegionLogits(), SocketLogits());
  }
}

TEST_F(SharedMemoryEndToEndTest, RestRegistersAndInfersThroughTheSameRegions) {
  for (const auto& [name, object] :
       {std::pair<const char*, TestSharedMemory*>{"audio", &audio_}, {"logits", &logits_}}) {
    httplib::Result result = http_->Post(
        absl::StrCat("/v2/systemsharedmemory/region/", name, "/register").c_str(),
        Json({{"key", object->key()}, {"offset", 0}, {"byte_size", object->size()}}).dump(),
        "application/json");
    ASSERT_TRUE(result);
    ASSERT_EQ(result->status, 200) << result->body;
  }
  httplib::Result result = http_->Get("/v2/systemsharedmemory/region/audio/status");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(Json::parse(result->body)[0]["key"], audio_.key());

  const Json request = {
      {"inputs",
       {{{"name", "AUDIO"},
         {"datatype", "FP32"},
         {"shape", {1, kSamples}},
         {"parameters",
          {{"shared_memory_region", "audio"}, {"shared_memory_byte_size", kAudioBytes}}}}}},
      {"outputs",
       {{{"name", "LOGITS"},
         {"parameters",
          {{"shared_memory_region", "logits"}, {"shared_memory_byte_size", kLogitsRegionBytes}}}},
        {{"name", "FRAMES"}}}}};
  result = http_->Post("/v2/models/wav2vec2/infer", request.dump(), "application/json");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  const Json reply = Json::parse(result->body);
  EXPECT_FALSE(reply["outputs"][0].contains("data"));
  EXPECT_EQ(reply["outputs"][0]["parameters"]["shared_memory_region"], "logits");
  EXPECT_EQ(RegionLogits(), SocketLogits());

  result = http_->Post("/v2/systemsharedmemory/unregister", "", "application/json");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200) << result->body;
  result = http_->Get("/v2/systemsharedmemory/status");
  ASSERT_TRUE(result);
  EXPECT_EQ(Json::parse(result->body), Json::array());
}

TEST_F(SharedMemoryEndToEndTest, WrongRegionsAreRefusedAndTheServerKeepsServing) {
  ASSERT_TRUE(grpc_->RegisterSystemSharedMemory("audio", audio_.key(), kAudioBytes).ok());
  ASSERT_TRUE(grpc_->RegisterSystemSharedMemory("logits", logits_.key(), 64).ok());

  // A region nobody registered.
  inference::ModelInferRequest request = Wav2Vec2Request("");
  SetSharedMemoryRegion(request.mutable_inputs(0)->mutable_parameters(), "nobody", kAudioBytes);
  auto reply = grpc_->Infer(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(reply.status().message(), AllOf(HasSubstr("AUDIO"), HasSubstr("'nobody'")));
  ExpectStillServing();

  // Bytes past the end of the registered region.
  request = Wav2Vec2Request("");
  SetSharedMemoryRegion(request.mutable_inputs(0)->mutable_parameters(), "audio", kAudioBytes, 4);
  reply = grpc_->Infer(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reply.status().message(), HasSubstr("AUDIO"));
  ExpectStillServing();

  // An input whose region holds fewer bytes than its shape needs.
  request = Wav2Vec2Request("");
  SetSharedMemoryRegion(request.mutable_inputs(0)->mutable_parameters(), "audio", kAudioBytes - 4);
  reply = grpc_->Infer(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reply.status().message(), AllOf(HasSubstr("AUDIO"), HasSubstr("63996")));
  ExpectStillServing();

  // An output region too small for the logits: the request fails, naming the output.
  request = Wav2Vec2Request("");
  SetSharedMemoryRegion(request.mutable_inputs(0)->mutable_parameters(), "audio", kAudioBytes);
  SetSharedMemoryRegion(request.mutable_outputs(0)->mutable_parameters(), "logits", 64);
  reply = grpc_->Infer(request);
  EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reply.status().message(), AllOf(HasSubstr("LOGITS"), HasSubstr("64")));
  ExpectStillServing();

  // Registering an object that does not exist, or more bytes than the object has.
  absl::Status registered =
      grpc_->RegisterSystemSharedMemory("ghost", "/speech_e2e_no_such_object", 64);
  EXPECT_EQ(registered.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(registered.message(), HasSubstr("/speech_e2e_no_such_object"));
  registered = grpc_->RegisterSystemSharedMemory("big", audio_.key(), 2 * kAudioBytes);
  EXPECT_EQ(registered.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(registered.message(), HasSubstr(absl::StrCat(kAudioBytes)));
  ExpectStillServing();
}

}  // namespace
}  // namespace speech
