// Shared by the tests of server/core/decode/ and server/core/: StatusIs, the codec's
// configurations and requests.
#ifndef SPEECH_SERVER_CORE_DECODE_CODEC_TEST_SUPPORT_H_
#define SPEECH_SERVER_CORE_DECODE_CODEC_TEST_SUPPORT_H_

#include <google/protobuf/text_format.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "batcher/request.h"
#include "batcher/tensor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.pb.h"
#include "proto/model_config.pb.h"
#include "proto/tensor_types.h"
#include "server/core/decode/tensor_codec.h"

namespace speech {

using InputMessage = inference::ModelInferRequest::InferInputTensor;

// A status with `code` whose message matches `message_matcher`.
MATCHER_P2(StatusIs, code, message_matcher, "") {
  if (arg.code() != code) {
    *result_listener << "whose code is " << absl::StatusCodeToString(arg.code());
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher, std::string(arg.message()),
                                       result_listener);
}

template <typename T>
std::string Bytes(const std::vector<T>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

// ---- The codec's configurations and requests ----

inline inference::ModelConfig Config(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

// A model that batches (up to 4 rows), with two inputs and two outputs.
inline inference::ModelConfig BatchingConfig() {
  return Config(R"pb(
    name: "asr"
    max_batch_size: 4
    input {
      name: "AUDIO"
      data_type: TYPE_FP32
      dims: [ -1 ]
    }
    input {
      name: "LENGTH"
      data_type: TYPE_INT32
      dims: [ 1 ]
    }
    output {
      name: "TEXT"
      data_type: TYPE_FP32
      dims: [ -1 ]
    }
    output {
      name: "TEXT_LENGTH"
      data_type: TYPE_INT32
      dims: [ 1 ]
    }
  )pb");
}

// A model that does not batch, with one input of fixed shape.
inline inference::ModelConfig PlainConfig() {
  return Config(R"pb(
    name: "plain"
    max_batch_size: 0
    input {
      name: "X"
      data_type: TYPE_FP32
      dims: [ 2, 3 ]
    }
    output {
      name: "Y"
      data_type: TYPE_FP32
      dims: [ 2, 3 ]
    }
  )pb");
}

// A model that does not batch, with one input of `type` and variable dims.
inline inference::ModelConfig OneInputConfig(DataType type, const std::string& dims = "[ -1 ]") {
  return Config(absl::StrCat("name: \"one\" max_batch_size: 0 input { name: \"X\" data_type: ",
                             inference::DataType_Name(type), " dims: ", dims,
                             " } output { name: \"Y\" data_type: ", inference::DataType_Name(type),
                             " dims: ", dims, " }"));
}

inline InputMessage* AddInput(inference::ModelInferRequest* message, const std::string& name,
                              const std::string& datatype, std::vector<int64_t> shape) {
  InputMessage* input = message->add_inputs();
  input->set_name(name);
  input->set_datatype(datatype);
  for (int64_t dim : shape) input->add_shape(dim);
  return input;
}

inline std::string TensorBytes(const InputTensor& tensor) {
  return std::string(tensor.data, tensor.byte_size);
}

// A valid request for BatchingConfig() with `rows` rows of 3 audio samples, in raw contents.
inline inference::ModelInferRequest BatchingRequest(int64_t rows) {
  inference::ModelInferRequest message;
  message.set_model_name("asr");
  AddInput(&message, "AUDIO", "FP32", {rows, 3});
  AddInput(&message, "LENGTH", "INT32", {rows, 1});
  message.add_raw_input_contents(Bytes(std::vector<float>(rows * 3, 0.5f)));
  message.add_raw_input_contents(Bytes(std::vector<int32_t>(rows, 3)));
  return message;
}

// A valid request for PlainConfig(), in typed contents.
inline inference::ModelInferRequest PlainRequest() {
  inference::ModelInferRequest message;
  message.set_model_name("plain");
  InputMessage* x = AddInput(&message, "X", "FP32", {2, 3});
  for (int i = 0; i < 6; ++i) x->mutable_contents()->add_fp32_contents(i);
  return message;
}

inline absl::Status Decode(const inference::ModelInferRequest& message,
                           const inference::ModelConfig& config, InferenceRequest* request) {
  return DecodeInferRequest(message, config, request);
}

inline absl::Status Decode(const inference::ModelInferRequest& message,
                           const inference::ModelConfig& config) {
  InferenceRequest request;
  return DecodeInferRequest(message, config, &request);
}

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_DECODE_CODEC_TEST_SUPPORT_H_
