#include "server/repository/config/ragged_validation.h"

#include <google/protobuf/text_format.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

// FastPitch's shape of things: symbols in, a mel spectrogram and per-symbol outputs out.
constexpr char kTts[] = R"pb(
  name: "tts"
  max_batch_size: 8
  input {
    name: "TEXT"
    data_type: TYPE_INT64
    dims: [ -1 ]
    ragged_padding { pad_value: 0 }
    constraints { min_value: 0 max_value: 147 min_length: 1 max_length: 1024 }
  }
  output {
    name: "MEL"
    data_type: TYPE_FP32
    dims: [ 80, -1 ]
  }
  output {
    name: "MEL_LENGTHS"
    data_type: TYPE_INT64
    dims: [ 1 ]
    reshape { shape: [] }
  }
  output {
    name: "DURATIONS"
    data_type: TYPE_FP32
    dims: [ -1 ]
  }
  batch_input {
    kind: BATCH_ELEMENT_COUNT
    target_name: "TEXT_LENGTHS"
    data_type: TYPE_INT64
    source_input: "TEXT"
  }
  batch_output {
    kind: BATCH_SCATTER_WITH_OUTPUT_LENGTHS
    target_name: "MEL"
    source_output: "MEL_LENGTHS"
  }
  batch_output {
    kind: BATCH_SCATTER_WITH_INPUT_SHAPE
    target_name: "DURATIONS"
    source_input: "TEXT"
  }
)pb";

inference::ModelConfig Parse(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

// kTts with `edit` applied to its parsed form.
template <typename Edit>
absl::Status ValidateEdited(Edit edit) {
  inference::ModelConfig config = Parse(kTts);
  edit(config);
  return ValidateRaggedBatching(config);
}

void ExpectInvalid(const absl::Status& status, const std::string& where,
                   const std::string& problem) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr(where), HasSubstr(problem)));
}

TEST(RaggedValidationTest, AcceptsTheFullSpeechConfiguration) {
  EXPECT_TRUE(ValidateRaggedBatching(Parse(kTts)).ok()) << ValidateRaggedBatching(Parse(kTts));
}

TEST(RaggedValidationTest, PlainTritonConfigurationNeedsNothing) {
  EXPECT_TRUE(ValidateRaggedBatching(Parse(R"pb(
                max_batch_size: 8
                input {
                  name: "X"
                  data_type: TYPE_FP32
                  dims: [ -1 ]
                }
                output {
                  name: "Y"
                  data_type: TYPE_FP32
                  dims: [ -1 ]
                }
              )pb"))
                  .ok());
}

TEST(RaggedValidationTest, PaddedInputsNeedEveryVariableOutputCut) {
  ExpectInvalid(ValidateEdited([](auto& c) { c.mutable_batch_output()->RemoveLast(); }),
                "output 'DURATIONS'", "no batch_output says how to cut it back");
}

TEST(RaggedValidationTest, PaddingNeedsBatchingAndAVariableDimension) {
  ExpectInvalid(ValidateEdited([](auto& c) { c.set_max_batch_size(0); }),
                "input 'TEXT': ragged_padding", "needs a batching model");
  ExpectInvalid(ValidateEdited([](auto& c) {
                  c.mutable_input(0)->set_dims(0, 16);
                  c.mutable_input(0)->clear_constraints();
                }),
                "input 'TEXT': ragged_padding", "needs a variable (-1) dimension to pad");
}

TEST(RaggedValidationTest, PadValueMustFitTheDataType) {
  ExpectInvalid(ValidateEdited([](auto& c) {
                  c.mutable_input(0)->mutable_ragged_padding()->set_pad_value(0.5);
                }),
                "input 'TEXT': ragged_padding", "pad_value 0.5 does not fit data_type TYPE_INT64");
  ExpectInvalid(ValidateEdited([](auto& c) {
                  c.mutable_input(0)->set_data_type(inference::TYPE_INT8);
                  c.mutable_input(0)->mutable_ragged_padding()->set_pad_value(200);
                }),
                "ragged_padding", "pad_value 200 does not fit data_type TYPE_INT8");
}

TEST(RaggedValidationTest, BucketFractionMustBeInRange) {
  for (double fraction : {0.0, 0.0625, 0.5}) {
    EXPECT_TRUE(ValidateEdited([&](auto& c) {
                  c.mutable_input(0)->mutable_ragged_padding()->set_bucket_fraction(fraction);
                }).ok())
        << fraction;
  }
  ExpectInvalid(ValidateEdited([](auto& c) {
                  c.mutable_input(0)->mutable_ragged_padding()->set_bucket_fraction(0.75);
                }),
                "input 'TEXT': ragged_padding", "bucket_fraction must be in [0, 0.5]; was 0.75");
  ExpectInvalid(ValidateEdited([](auto& c) {
                  c.mutable_input(0)->mutable_ragged_padding()->set_bucket_fraction(-0.1);
                }),
                "ragged_padding", "bucket_fraction must be in [0, 0.5]; was -0.1");
}

TEST(RaggedValidationTest, TritonsConcatenatingRaggedBatchIsRefused) {
  ExpectInvalid(ValidateRaggedBatching(Parse(R"pb(
                  max_batch_size: 8
                  input {
                    name: "X"
                    data_type: TYPE_FP32
                    dims: [ -1 ]
                    allow_ragged_batch: true
                  }
                  output {
                    name: "Y"
                    data_type: TYPE_FP32
                    dims: [ -1 ]
                  }
                )pb")),
                "input 'X': allow_ragged_batch", "expected ragged_padding");
}

TEST(RaggedValidationTest, ConstraintRules) {
  ExpectInvalid(ValidateEdited([](auto& c) {
                  c.mutable_input(0)->mutable_constraints()->set_min_length(2000);
                }),
                "input 'TEXT': constraints", "min_length 2000 is greater than max_length 1024");
  ExpectInvalid(ValidateEdited(
                    [](auto& c) { c.mutable_input(0)->mutable_constraints()->set_min_value(200); }),
                "constraints", "min_value 200 is greater than max_value 147");
  ExpectInvalid(
      ValidateEdited([](auto& c) { c.mutable_input(0)->mutable_constraints()->set_finite(true); }),
      "constraints", "finite applies to floating-point inputs; data_type is TYPE_INT64");
  ExpectInvalid(ValidateEdited(
                    [](auto& c) { c.mutable_input(0)->mutable_constraints()->set_max_length(-1); }),
                "constraints", "must be >= 0");
  ExpectInvalid(ValidateEdited([](auto& c) {
                  c.mutable_input(0)->clear_ragged_padding();
                  c.mutable_input(0)->mutable_constraints()->set_not_all_pad(true);
                }),
                "constraints", "not_all_pad needs ragged_padding");
}

TEST(RaggedValidationTest, LengthsOfNamesAnotherInputWithOneVariableDimension) {
  constexpr char kAsr[] = R"pb(
    max_batch_size: 8
    input {
      name: "AUDIO"
      data_type: TYPE_FP32
      dims: [ -1 ]
    }
    input {
      name: "LENGTHS"
      data_type: TYPE_INT64
      dims: [ 1 ]
      constraints { lengths_of: "AUDIO" }
    }
    output {
      name: "LOGITS"
      data_type: TYPE_FP32
      dims: [ -1, 32 ]
    }
  )pb";
  EXPECT_TRUE(ValidateRaggedBatching(Parse(kAsr)).ok());
  inference::ModelConfig config = Parse(kAsr);
  config.mutable_input(1)->mutable_constraints()->set_lengths_of("VIDEO");
  ExpectInvalid(ValidateRaggedBatching(config), "input 'LENGTHS': constraints",
                "lengths_of must name another input; got 'VIDEO'");
  config = Parse(kAsr);
  config.mutable_input(1)->set_data_type(inference::TYPE_FP32);
  ExpectInvalid(ValidateRaggedBatching(config), "constraints",
                "holds one integer per row; data_type is TYPE_FP32");
}

TEST(RaggedValidationTest, BatchInputRules) {
  ExpectInvalid(
      ValidateEdited([](auto& c) {
        c.mutable_batch_input(0)->set_kind(inference::BatchInput::BATCH_ACCUMULATED_ELEMENT_COUNT);
      }),
      "batch_input 'TEXT_LENGTHS'",
      "BATCH_ACCUMULATED_ELEMENT_COUNT is not supported; expected BATCH_ELEMENT_COUNT");
  ExpectInvalid(ValidateEdited(
                    [](auto& c) { c.mutable_batch_input(0)->set_data_type(inference::TYPE_FP16); }),
                "batch_input 'TEXT_LENGTHS'", "TYPE_INT32 or TYPE_INT64; got TYPE_FP16");
  ExpectInvalid(
      ValidateEdited([](auto& c) { c.mutable_batch_input(0)->set_target_name(0, "TEXT"); }),
      "batch_input 'TEXT'", "already an input");
  ExpectInvalid(
      ValidateEdited([](auto& c) { c.mutable_batch_input(0)->set_source_input(0, "AUDIO"); }),
      "batch_input 'TEXT_LENGTHS'", "source_input naming an input; got [AUDIO]");
  ExpectInvalid(ValidateEdited([](auto& c) { c.mutable_batch_input(0)->clear_target_name(); }),
                "batch_input", "exactly one target_name; got 0");
}

TEST(RaggedValidationTest, BatchOutputRules) {
  ExpectInvalid(
      ValidateEdited([](auto& c) { c.mutable_batch_output(0)->set_source_output(0, "DURATIONS"); }),
      "batch_output 'MEL'", "source_output 'DURATIONS' must hold one integer per row");
  ExpectInvalid(
      ValidateEdited([](auto& c) { c.mutable_batch_output(0)->set_source_output(0, "MEL"); }),
      "batch_output 'MEL'", "naming another output");
  ExpectInvalid(
      ValidateEdited([](auto& c) { c.mutable_batch_output(1)->set_target_name(0, "MEL"); }),
      "batch_output 'MEL'", "cut by two batch_outputs");
  ExpectInvalid(
      ValidateEdited([](auto& c) { c.mutable_batch_output(1)->set_target_name(0, "WAVEFORM"); }),
      "batch_output 'WAVEFORM'", "names no output");
  ExpectInvalid(ValidateEdited([](auto& c) { c.mutable_output(2)->add_dims(-1); }),
                "batch_output 'DURATIONS'", "must have as many variable dimensions");
}

}  // namespace
}  // namespace speech
