// End to end: the real speech_server binary with the default model repository, called over real
// gRPC on loopback with our client library.
#include <torch/script.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/bytes_elements.h"
#include "proto/grpc_service.grpc.pb.h"
#include "tests/harness/server_fixture.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

template <typename T>
void ExpectValue(const absl::StatusOr<T>& got, const T& expected) {
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, expected);
}

class EndToEndTest : public RealServerTest {
 protected:
  static void SetUpTestSuite() { StartServer(kDefaultRepository); }

  static void TearDownTestSuite() { StopServer(); }

  static HostTensor Random(const std::string& name, const std::string& datatype,
                           std::vector<int64_t> shape, uint64_t seed, int64_t low = 1,
                           int64_t high = 100) {
    auto tensor = GenerateInput(name, datatype, shape, FillMode::kRandom, seed, low, high);
    EXPECT_TRUE(tensor.ok()) << tensor.status();
    return *tensor;
  }

  static absl::StatusOr<std::vector<HostTensor>> Infer(const std::string& model,
                                                       const std::vector<HostTensor>& inputs) {
    auto response = client_->Infer(MakeInferRequest(model, "", inputs, {}));
    if (!response.ok()) return response.status();
    return OutputsFromResponse(*response);
  }

  // Runs the repository's TorchScript file for `model` in this process on `inputs`.
  static std::vector<torch::Tensor> RunInProcess(const std::string& model,
                                                 const std::vector<torch::Tensor>& inputs) {
    torch::jit::Module module =
        torch::jit::load(absl::StrCat(kDefaultRepository, "/", model, "/1/model.pt"));
    module.eval();
    c10::InferenceMode guard;
    std::vector<torch::jit::IValue> arguments(inputs.begin(), inputs.end());
    torch::jit::IValue result = module.forward(arguments);
    std::vector<torch::Tensor> outputs;
    if (result.isTensor()) return {result.toTensor()};
    for (const auto& element : result.toTupleRef().elements())
      outputs.push_back(element.toTensor());
    return outputs;
  }
};

TEST_F(EndToEndTest, HealthAndMetadata) {
  ExpectValue(client_->ServerLive(), true);
  ExpectValue(client_->ServerReady(), true);
  ExpectValue(client_->HealthCheck(""), grpc::health::v1::HealthCheckResponse::SERVING);
  for (const char* model : {"identity", "simple", "fastpitch", "wav2vec2"}) {
    ExpectValue(client_->ModelReady(model), true);
  }
  ExpectValue(client_->ModelReady("nope"), false);

  auto server = client_->ServerMetadata();
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_THAT(server->extensions(), ::testing::Contains("model_configuration"));
  EXPECT_THAT(server->extensions(), ::testing::Contains("model_repository"));

  auto metadata = client_->ModelMetadata("simple");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->platform(), "pytorch_libtorch");
  ASSERT_EQ(metadata->inputs_size(), 2);
  EXPECT_EQ(metadata->inputs(0).name(), "INPUT0");
  EXPECT_EQ(metadata->inputs(0).datatype(), "INT32");
  EXPECT_THAT(metadata->inputs(0).shape(), ::testing::ElementsAre(-1, 16));
  EXPECT_THAT(metadata->versions(), ::testing::ElementsAre("1"));

  auto config = client_->ModelConfig("fastpitch");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->config().max_batch_size(), 8);
  EXPECT_THAT(config->config().dynamic_batching().preferred_batch_size(),
              ::testing::ElementsAre(4, 8));

  auto index = client_->RepositoryIndex();
  ASSERT_TRUE(index.ok()) << index.status();
  ASSERT_EQ(index->models_size(), 11);  // 9 models and the tts and asr ensembles
  for (const auto& model : index->models()) EXPECT_EQ(model.state(), "READY") << model.name();
}

TEST_F(EndToEndTest, IdentityReturnsTheInputBitForBit) {
  const HostTensor input = Random("INPUT0", "FP32", {1, 256}, 7);
  auto outputs = Infer("identity", {input});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].name, "OUTPUT0");
  EXPECT_EQ((*outputs)[0].datatype, "FP32");
  EXPECT_EQ((*outputs)[0].shape, input.shape);
  EXPECT_EQ((*outputs)[0].bytes, input.bytes);
}

TEST_F(EndToEndTest, IdentityAcceptsTypedContents) {
  inference::ModelInferRequest request;
  request.set_model_name("identity");
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(2);
  input->add_shape(3);
  for (float value : {1.5f, -2.0f, 3.25f, 0.0f, 8.0f, -0.5f}) {
    input->mutable_contents()->add_fp32_contents(value);
  }
  auto response = client_->Infer(request);
  ASSERT_TRUE(response.ok()) << response.status();
  auto outputs = OutputsFromResponse(*response);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_THAT(AsVector<float>((*outputs)[0]),
              ::testing::ElementsAre(1.5f, -2.0f, 3.25f, 0.0f, 8.0f, -0.5f));
  EXPECT_THAT((*outputs)[0].shape, ::testing::ElementsAre(2, 3));
}

TEST_F(EndToEndTest, SimpleAddsAndSubtracts) {
  const HostTensor a = Random("INPUT0", "INT32", {3, 16}, 1, -1000, 1000);
  const HostTensor b = Random("INPUT1", "INT32", {3, 16}, 2, -1000, 1000);
  auto outputs = Infer("simple", {a, b});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 2u);
  const std::vector<int32_t> x = AsVector<int32_t>(a), y = AsVector<int32_t>(b);
  const std::vector<int32_t> sum = AsVector<int32_t>((*outputs)[0]);
  const std::vector<int32_t> difference = AsVector<int32_t>((*outputs)[1]);
  ASSERT_EQ(sum.size(), x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(sum[i], x[i] + y[i]);
    EXPECT_EQ(difference[i], x[i] - y[i]);
  }
}

HostTensor Strings(const std::string& name, std::vector<int64_t> shape,
                   const std::vector<std::string>& values) {
  return HostTensor{name, "BYTES", std::move(shape), PackBytesElements(values)};
}

std::vector<std::string> StringsOf(const HostTensor& tensor) {
  auto elements = SplitBytesElements(tensor.bytes, tensor.name);
  EXPECT_TRUE(elements.ok()) << elements.status();
  return elements.ok() ? std::vector<std::string>(elements->begin(), elements->end())
                       : std::vector<std::string>();
}

TEST_F(EndToEndTest, SimpleStringAddsNumbersWrittenAsText) {
  std::vector<std::string> a, b, sums, differences;
  for (int i = 0; i < 32; ++i) {
    a.push_back(std::to_string(i * 7 - 50));
    b.push_back(std::to_string(3 - i));
    sums.push_back(std::to_string(i * 7 - 50 + 3 - i));
    differences.push_back(std::to_string(i * 7 - 50 - (3 - i)));
  }
  auto outputs =
      Infer("simple_string", {Strings("INPUT0", {2, 16}, a), Strings("INPUT1", {2, 16}, b)});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 2u);
  EXPECT_EQ((*outputs)[0].datatype, "BYTES");
  EXPECT_EQ((*outputs)[0].shape, (std::vector<int64_t>{2, 16}));
  EXPECT_EQ(StringsOf((*outputs)[0]), sums);
  EXPECT_EQ(StringsOf((*outputs)[1]), differences);
}

TEST_F(EndToEndTest, SimpleIdentityKeepsAnyBytesAndTypedContentsWork) {
  const std::vector<std::string> blobs = {std::string("he\0llo", 6), "",
                                          std::string("\x00\x01\x02\x03", 4), "Grüß Gott"};
  auto outputs = Infer("simple_identity", {Strings("INPUT0", {1, 4}, blobs)});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  EXPECT_EQ(StringsOf((*outputs)[0]), blobs);
  // The same strings as typed bytes_contents.
  inference::ModelInferRequest request = MakeInferRequest("simple_identity", "", {}, {});
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("BYTES");
  input->add_shape(1);
  input->add_shape(4);
  for (const std::string& blob : blobs) input->mutable_contents()->add_bytes_contents(blob);
  auto response = client_->Infer(request);
  ASSERT_TRUE(response.ok()) << response.status();
  auto typed = OutputsFromResponse(*response);
  ASSERT_TRUE(typed.ok()) << typed.status();
  EXPECT_EQ(StringsOf((*typed)[0]), blobs);
}

TEST_F(EndToEndTest, MalformedBytesAreRefusedNamingTheElement) {
  HostTensor broken = Strings("INPUT0", {1, 2}, {"abc", "defg"});
  broken.bytes.resize(broken.bytes.size() - 2);
  auto response = client_->Infer(MakeInferRequest("simple_identity", "", {broken}, {}));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()),
              ::testing::HasSubstr("input 'INPUT0': element 1 declares 4 bytes but only 2 remain"));
}

torch::Tensor ToTorch(const HostTensor& tensor, torch::ScalarType type) {
  return torch::from_blob(const_cast<char*>(tensor.bytes.data()), tensor.shape, type).clone();
}

void ExpectSameValues(const HostTensor& served, const torch::Tensor& expected) {
  ASSERT_EQ(served.shape, expected.sizes().vec()) << served.name;
  const torch::Tensor got = ToTorch(served, expected.scalar_type());
  EXPECT_TRUE(torch::allclose(got, expected, 1e-4, 1e-5))
      << served.name << ": max difference " << (got - expected).abs().max().item<double>();
}

TEST_F(EndToEndTest, FastPitchMatchesInProcessTorchScript) {
  const HostTensor text = Random("INPUT__0", "INT64", {1, 64}, 11, 1, 148);
  auto outputs = Infer("fastpitch", {text});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 5u);
  std::vector<torch::Tensor> expected = RunInProcess("fastpitch", {ToTorch(text, torch::kLong)});
  const HostTensor& mel = (*outputs)[0];
  EXPECT_EQ(mel.name, "OUTPUT__0");
  ASSERT_EQ(mel.shape.size(), 3u);
  EXPECT_EQ(mel.shape[1], 80);
  ExpectSameValues(mel, expected[0]);
  // OUTPUT__1 is a per-item scalar reshaped to dims [1], as Triton's FastPitch config declares.
  EXPECT_THAT((*outputs)[1].shape, ::testing::ElementsAre(1, 1));
  EXPECT_EQ(AsVector<int64_t>((*outputs)[1])[0], mel.shape[2]);
  for (int j = 2; j < 5; ++j) ExpectSameValues((*outputs)[j], expected[j]);
}

TEST_F(EndToEndTest, Wav2Vec2MatchesInProcessTorchScript) {
  const HostTensor audio = Random("AUDIO", "FP32", {1, 16000}, 5);
  auto outputs = Infer("wav2vec2", {audio});
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 2u);
  EXPECT_EQ((*outputs)[0].name, "LOGITS");
  EXPECT_THAT((*outputs)[0].shape, ::testing::ElementsAre(1, 49, 32));
  EXPECT_EQ((*outputs)[1].name, "FRAMES");
  EXPECT_THAT((*outputs)[1].shape, ::testing::ElementsAre(1, 1));
  EXPECT_THAT(AsVector<int64_t>((*outputs)[1]), ::testing::ElementsAre(49));
  // The server passes each row's sample count (batch_input AUDIO_LENGTHS) after the audio.
  std::vector<torch::Tensor> expected = RunInProcess(
      "wav2vec2", {ToTorch(audio, torch::kFloat), torch::full({1, 1}, 16000, torch::kLong)});
  ExpectSameValues((*outputs)[0], expected[0]);
}

TEST_F(EndToEndTest, StreamInferAnswersEveryRequestWithItsId) {
  grpc::ClientContext context;
  auto stream = client_->stub()->ModelStreamInfer(&context);
  const HostTensor input = Random("INPUT0", "FP32", {1, 16}, 3);
  for (int i = 0; i < 3; ++i) {
    inference::ModelInferRequest request = MakeInferRequest("identity", "", {input}, {});
    request.set_id(absl::StrCat("request-", i));
    if (i == 1) request.set_model_name("nope");
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  std::map<std::string, inference::ModelStreamInferResponse> responses;
  inference::ModelStreamInferResponse response;
  while (stream->Read(&response)) responses[response.infer_response().id()] = response;
  ASSERT_TRUE(stream->Finish().ok());
  ASSERT_EQ(responses.size(), 3u);
  EXPECT_THAT(responses["request-1"].error_message(), HasSubstr("unknown model: 'nope'"));
  for (const char* id : {"request-0", "request-2"}) {
    EXPECT_EQ(responses[id].error_message(), "");
    auto outputs = OutputsFromResponse(responses[id].infer_response());
    ASSERT_TRUE(outputs.ok()) << outputs.status();
    EXPECT_EQ((*outputs)[0].bytes, input.bytes);
  }
}

}  // namespace
}  // namespace speech
