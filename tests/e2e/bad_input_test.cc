// Bad requests over real gRPC get the right status code and a message naming the tensor, the
// expected and the received value; the server keeps serving afterwards.
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/server_fixture.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class BadInputTest : public RealServerTest {
 protected:
  static void SetUpTestSuite() { StartServer(kDefaultRepository); }

  static void TearDownTestSuite() { StopServer(); }

  void TearDown() override {
    // Whatever the case sent, the server still answers a good request correctly.
    inference::ModelInferRequest request = SimpleRequest();
    auto response = client_->Infer(request);
    ASSERT_TRUE(response.ok()) << response.status();
    auto outputs = OutputsFromResponse(*response);
    ASSERT_TRUE(outputs.ok());
    EXPECT_EQ(AsVector<int32_t>((*outputs)[0])[3], 2 * 3);
  }

  // A valid request for `simple`: INPUT0 = INPUT1 = 0..15.
  static inference::ModelInferRequest SimpleRequest() {
    std::vector<HostTensor> inputs;
    for (const char* name : {"INPUT0", "INPUT1"}) {
      HostTensor tensor{name, "INT32", {1, 16}, std::string(64, '\0')};
      for (int32_t i = 0; i < 16; ++i) {
        std::memcpy(tensor.bytes.data() + 4 * i, &i, 4);
      }
      inputs.push_back(tensor);
    }
    return MakeInferRequest("simple", "", inputs, {});
  }

  static absl::Status Send(const inference::ModelInferRequest& request) {
    return client_->Infer(request).status();
  }
};

#define EXPECT_STATUS(status, expected_code, matcher)          \
  do {                                                         \
    const absl::Status s = (status);                           \
    EXPECT_EQ(s.code(), absl::StatusCode::expected_code) << s; \
    EXPECT_THAT(std::string(s.message()), matcher) << s;       \
  } while (0)

TEST_F(BadInputTest, UnknownModel) {
  inference::ModelInferRequest request = SimpleRequest();
  request.set_model_name("nope");
  EXPECT_STATUS(Send(request), kNotFound,
                HasSubstr("Request for unknown model: 'nope' is not in the repository"));
}

TEST_F(BadInputTest, UnknownVersion) {
  inference::ModelInferRequest request = SimpleRequest();
  request.set_model_version("7");
  EXPECT_STATUS(Send(request), kNotFound,
                AllOf(HasSubstr("no version '7'"), HasSubstr("loaded versions: [1]")));
}

TEST_F(BadInputTest, WrongInputName) {
  inference::ModelInferRequest request = SimpleRequest();
  request.mutable_inputs(1)->set_name("WRONG");
  EXPECT_STATUS(Send(request), kInvalidArgument,
                AllOf(HasSubstr("unexpected input 'WRONG'"), HasSubstr("[INPUT0, INPUT1]")));
}

TEST_F(BadInputTest, MissingInput) {
  inference::ModelInferRequest request = SimpleRequest();
  request.mutable_inputs()->RemoveLast();
  request.mutable_raw_input_contents()->RemoveLast();
  EXPECT_STATUS(Send(request), kInvalidArgument,
                AllOf(HasSubstr("input 'INPUT1' is missing"), HasSubstr("[INPUT0, INPUT1]")));
}

TEST_F(BadInputTest, WrongDatatype) {
  inference::ModelInferRequest request = SimpleRequest();
  request.mutable_inputs(0)->set_datatype("FP32");
  EXPECT_STATUS(Send(request), kInvalidArgument,
                HasSubstr("input 'INPUT0': datatype 'FP32' does not match INT32"));
}

TEST_F(BadInputTest, ShapeDoesNotMatchConfiguration) {
  inference::ModelInferRequest request = SimpleRequest();
  request.mutable_inputs(0)->set_shape(1, 17);
  request.mutable_raw_input_contents(0)->resize(68);
  EXPECT_STATUS(Send(request), kInvalidArgument,
                HasSubstr("input 'INPUT0': shape [1, 17] does not match [-1, 16]"));
}

TEST_F(BadInputTest, BatchLargerThanMaxBatchSize) {
  inference::ModelInferRequest request = SimpleRequest();
  for (int i = 0; i < 2; ++i) {
    request.mutable_inputs(i)->set_shape(0, 9);
    request.mutable_raw_input_contents(i)->resize(9 * 64);
  }
  EXPECT_STATUS(Send(request), kInvalidArgument,
                HasSubstr("input 'INPUT0': batch size 9 is outside [1, max_batch_size = 8]"));
}

TEST_F(BadInputTest, RawByteLengthDoesNotMatchShape) {
  inference::ModelInferRequest request = SimpleRequest();
  request.mutable_raw_input_contents(1)->resize(60);
  EXPECT_STATUS(
      Send(request), kInvalidArgument,
      AllOf(HasSubstr("input 'INPUT1': raw_input_contents has 60 bytes"), HasSubstr("needs 64")));
}

TEST_F(BadInputTest, BothRawAndTypedContents) {
  inference::ModelInferRequest request = SimpleRequest();
  for (int i = 0; i < 16; ++i) request.mutable_inputs(0)->mutable_contents()->add_int_contents(i);
  EXPECT_STATUS(Send(request), kInvalidArgument,
                HasSubstr("input 'INPUT0': has both raw_input_contents and typed contents"));
}

TEST_F(BadInputTest, NegativeDimension) {
  inference::ModelInferRequest request = SimpleRequest();
  request.mutable_inputs(0)->set_shape(0, -3);
  EXPECT_STATUS(Send(request), kInvalidArgument,
                HasSubstr("input 'INPUT0': shape [-3, 16] has a negative dimension -3"));
}

TEST_F(BadInputTest, OverflowingDimensions) {
  inference::ModelInferRequest request;
  request.set_model_name("identity");
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(int64_t{1} << 62);  // 2^62 floats: 2^64 bytes, which wrap to 0
  request.add_raw_input_contents("");
  EXPECT_STATUS(Send(request), kInvalidArgument,
                AllOf(HasSubstr("input 'INPUT0': shape [1, 4611686018427387904]"),
                      HasSubstr("more bytes than 64 bits can count")));
}

TEST_F(BadInputTest, UnknownRequestedOutput) {
  inference::ModelInferRequest request = SimpleRequest();
  request.add_outputs()->set_name("OUTPUT9");
  EXPECT_STATUS(Send(request), kInvalidArgument,
                AllOf(HasSubstr("unknown output 'OUTPUT9'"), HasSubstr("[OUTPUT0, OUTPUT1]")));
}

TEST_F(BadInputTest, TypedContentsWithTheWrongCount) {
  inference::ModelInferRequest request = SimpleRequest();
  request.clear_raw_input_contents();
  for (int i = 0; i < 2; ++i) {
    for (int v = 0; v < 15; ++v) request.mutable_inputs(i)->mutable_contents()->add_int_contents(v);
  }
  EXPECT_STATUS(Send(request), kInvalidArgument,
                HasSubstr("input 'INPUT0': contents hold 15 values; shape [1, 16] needs 16"));
}

// Input the speech models cannot take is refused from their configured constraints before it is
// queued, never with the model's own error.

HostTensor Symbols(const std::vector<int64_t>& ids) {
  HostTensor tensor{"INPUT__0", "INT64", {1, static_cast<int64_t>(ids.size())}, ""};
  tensor.bytes.assign(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(int64_t));
  return tensor;
}

HostTensor Audio(int64_t samples, float value = 0.1f) {
  HostTensor tensor{"AUDIO", "FP32", {1, samples}, ""};
  const std::vector<float> audio(samples, value);
  tensor.bytes.assign(reinterpret_cast<const char*>(audio.data()), audio.size() * sizeof(float));
  return tensor;
}

TEST_F(BadInputTest, FastPitchWithoutSymbols) {
  EXPECT_STATUS(Send(MakeInferRequest("fastpitch", "", {Symbols({})}, {})), kInvalidArgument,
                AllOf(HasSubstr("model 'fastpitch'"), HasSubstr("input 'INPUT__0'"),
                      HasSubstr("is 0; expected at least 1 element")));
}

TEST_F(BadInputTest, FastPitchSymbolOutsideTheSymbolSet) {
  EXPECT_STATUS(Send(MakeInferRequest("fastpitch", "", {Symbols({12, 40, 148})}, {})),
                kInvalidArgument,
                AllOf(HasSubstr("input 'INPUT__0': element 2 is 148"),
                      HasSubstr("expected values in [0, 147]")));
  EXPECT_STATUS(Send(MakeInferRequest("fastpitch", "", {Symbols({-3})}, {})), kInvalidArgument,
                HasSubstr("element 0 is -3"));
}

TEST_F(BadInputTest, FastPitchTextLongerThanTheCap) {
  EXPECT_STATUS(
      Send(MakeInferRequest("fastpitch", "", {Symbols(std::vector<int64_t>(513, 5))}, {})),
      kInvalidArgument, HasSubstr("is 513, above the maximum 512"));
}

TEST_F(BadInputTest, Wav2Vec2WithoutAudio) {
  EXPECT_STATUS(Send(MakeInferRequest("wav2vec2", "", {Audio(0)}, {})), kInvalidArgument,
                AllOf(HasSubstr("model 'wav2vec2'"), HasSubstr("input 'AUDIO'"),
                      HasSubstr("expected at least 1 element")));
}

TEST_F(BadInputTest, Wav2Vec2AudioShorterThanOneFrame) {
  EXPECT_STATUS(Send(MakeInferRequest("wav2vec2", "", {Audio(399)}, {})), kInvalidArgument,
                HasSubstr("is 399, below the minimum 400 (constraints.min_length)"));
}

TEST_F(BadInputTest, Wav2Vec2AudioHoldingNaN) {
  EXPECT_STATUS(Send(MakeInferRequest("wav2vec2", "", {Audio(16000, std::nanf(""))}, {})),
                kInvalidArgument, AllOf(HasSubstr("element 0 is nan"), HasSubstr("finite")));
}

}  // namespace
}  // namespace speech
