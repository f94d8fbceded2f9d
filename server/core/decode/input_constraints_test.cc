#include "server/core/decode/input_constraints.h"

#include <google/protobuf/text_format.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/bytes_elements.h"
#include "proto/grpc_service.pb.h"
#include "server/core/decode/tensor_codec.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kConfig[] = R"pb(
  name: "speech"
  max_batch_size: 8
  input {
    name: "TEXT"
    data_type: TYPE_INT64
    dims: [ -1 ]
    ragged_padding { pad_value: 0 }
    constraints { min_value: 0 max_value: 147 min_length: 1 max_length: 6 not_all_pad: true }
  }
  input {
    name: "AUDIO"
    data_type: TYPE_FP32
    dims: [ -1 ]
    constraints { min_length: 4 finite: true }
  }
  input {
    name: "AUDIO_LENGTHS"
    data_type: TYPE_INT32
    dims: [ 1 ]
    constraints { lengths_of: "AUDIO" }
  }
  output {
    name: "OUT"
    data_type: TYPE_FP32
    dims: [ 1 ]
  }
)pb";

template <typename T>
void AddInput(inference::ModelInferRequest* message, const std::string& name,
              const std::string& datatype, std::vector<int64_t> shape,
              const std::vector<T>& values) {
  auto* input = message->add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  for (int64_t dim : shape) input->add_shape(dim);
  message->add_raw_input_contents(
      std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
}

struct Request {
  std::vector<int64_t> text = {1, 2, 3};
  std::vector<float> audio = {0.1f, -0.2f, 0.3f, 0.0f, 0.5f};
  int32_t audio_length = 5;
};

// Decodes `r` (which must decode) and checks its constraints.
// `rows` rows of TEXT split r.text evenly; AUDIO and AUDIO_LENGTHS repeat per row.
absl::Status Check(const Request& r, int64_t rows = 1) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(kConfig, &config));
  inference::ModelInferRequest message;
  AddInput<int64_t>(&message, "TEXT", "INT64", {rows, static_cast<int64_t>(r.text.size()) / rows},
                    r.text);
  std::vector<float> audio;
  for (int64_t i = 0; i < rows; ++i) audio.insert(audio.end(), r.audio.begin(), r.audio.end());
  AddInput<float>(&message, "AUDIO", "FP32", {rows, static_cast<int64_t>(r.audio.size())}, audio);
  AddInput<int32_t>(&message, "AUDIO_LENGTHS", "INT32", {rows, 1},
                    std::vector<int32_t>(rows, r.audio_length));
  InferenceRequest request;
  absl::Status decoded = DecodeInferRequest(message, config, &request);
  EXPECT_TRUE(decoded.ok()) << decoded;
  return CheckInputConstraints(config, request);
}

void ExpectInvalid(const absl::Status& status, std::vector<std::string> parts) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  for (const std::string& part : parts) {
    EXPECT_THAT(std::string(status.message()), HasSubstr(part));
  }
}

TEST(InputConstraintsTest, AcceptsARequestWithinEveryRule) { EXPECT_TRUE(Check(Request()).ok()); }

TEST(InputConstraintsTest, ValuesOutsideTheRangeAreRefusedWithTheirPosition) {
  Request r;
  r.text = {1, 148, 3};
  ExpectInvalid(Check(r), {"input 'TEXT'", "element 1 is 148", "expected values in [0, 147]"});
  r.text = {-1};
  ExpectInvalid(Check(r), {"input 'TEXT'", "element 0 is -1"});
}

TEST(InputConstraintsTest, EmptyPaddedInputIsRefused) {
  Request r;
  r.text = {};
  ExpectInvalid(Check(r), {"input 'TEXT'", "dimension 1 of shape [1, 0] is 0",
                           "expected at least 1 element"});
}

TEST(InputConstraintsTest, ARowOfPaddingAloneIsRefused) {
  Request r;
  r.text = {0, 0, 0};
  ExpectInvalid(Check(r), {"input 'TEXT'", "row 0 holds only the pad value 0 (3 elements)",
                           "constraints.not_all_pad"});
  r.text = {0, 0, 7};  // padding before a real symbol is the model's business
  EXPECT_TRUE(Check(r).ok());
  r.text = {4, 5, 0, 0};  // two rows: the second is padding alone
  ExpectInvalid(Check(r, /*rows=*/2), {"row 1 holds only the pad value 0 (2 elements)"});
  r.text = {4, 0, 0, 5};
  EXPECT_TRUE(Check(r, /*rows=*/2).ok());
}

TEST(InputConstraintsTest, LengthsOutsideTheLimitsAreRefused) {
  Request r;
  r.text = {1, 2, 3, 4, 5, 6, 7};
  ExpectInvalid(Check(r), {"input 'TEXT'", "is 7, above the maximum 6 (constraints.max_length)"});
  r = Request();
  r.audio = {0.1f, 0.2f};
  r.audio_length = 2;
  ExpectInvalid(Check(r), {"input 'AUDIO'", "is 2, below the minimum 4 (constraints.min_length)"});
}

TEST(InputConstraintsTest, NonFiniteAudioIsRefused) {
  Request r;
  r.audio[2] = std::numeric_limits<float>::quiet_NaN();
  ExpectInvalid(Check(r), {"input 'AUDIO'", "element 2 is nan", "expected finite values"});
  r = Request();
  r.audio[4] = -std::numeric_limits<float>::infinity();
  ExpectInvalid(Check(r), {"input 'AUDIO'", "element 4 is -inf"});
}

TEST(InputConstraintsTest, LengthsThatDisagreeWithTheDataAreRefused) {
  Request r;
  r.audio_length = 6;
  ExpectInvalid(Check(r), {"input 'AUDIO_LENGTHS'", "row 0 says 6 elements of input 'AUDIO'",
                           "holds 5", "expected a length in [1, 5]"});
  r.audio_length = 0;
  ExpectInvalid(Check(r), {"row 0 says 0 elements"});
  r.audio_length = 3;  // client-side padding: fewer real elements than sent
  EXPECT_TRUE(Check(r).ok());
}

absl::Status CheckText(const std::vector<std::string>& texts) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(
      R"pb(
        name: "tts"
        max_batch_size: 8
        input {
          name: "TEXT"
          data_type: TYPE_STRING
          dims: [ -1 ]
          constraints { min_element_bytes: 1 max_element_bytes: 20 utf8: true }
        }
        output {
          name: "AUDIO"
          data_type: TYPE_FP32
          dims: [ -1 ]
        }
      )pb",
      &config));
  inference::ModelInferRequest message;
  auto* input = message.add_inputs();
  input->set_name("TEXT");
  input->set_datatype("BYTES");
  input->add_shape(1);
  input->add_shape(static_cast<int64_t>(texts.size()));
  message.add_raw_input_contents(PackBytesElements(texts));
  InferenceRequest request;
  absl::Status decoded = DecodeInferRequest(message, config, &request);
  EXPECT_TRUE(decoded.ok()) << decoded;
  return CheckInputConstraints(config, request);
}

TEST(InputConstraintsTest, TextMustBeNonEmptyBoundedUtf8) {
  EXPECT_TRUE(CheckText({"Turn left.", "Grüß Gott"}).ok());
  ExpectInvalid(CheckText({"ok", ""}),
                {"input 'TEXT'", "element 1 has 0 bytes, below the minimum 1"});
  ExpectInvalid(CheckText({std::string(21, 'a')}),
                {"element 0 has 21 bytes, above the maximum 20 (constraints.max_element_bytes)"});
  ExpectInvalid(CheckText({"bad \xff byte"}), {"element 0 is not valid UTF-8 (byte 4)"});
  ExpectInvalid(CheckText({"\xc0\xaf"}), {"not valid UTF-8 (byte 0)"});      // overlong
  ExpectInvalid(CheckText({"\xed\xa0\x80"}), {"not valid UTF-8 (byte 0)"});  // a surrogate
  ExpectInvalid(CheckText({"cut \xe2\x82"}), {"not valid UTF-8 (byte 4)"});  // cut short
}

}  // namespace
}  // namespace speech
