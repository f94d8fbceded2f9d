#include "server/repository/config/ensemble_validation.h"

#include <google/protobuf/text_format.h>

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

inference::ModelConfig Parse(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  return config;
}

// The tts chain's models, as far as wiring goes.
class EnsembleValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    models_["frontend"] = Parse(R"pb(
      name: "frontend"
      max_batch_size: 8
      input {
        name: "TEXT"
        data_type: TYPE_STRING
        dims: [ 1 ]
      }
      output {
        name: "SYMBOLS"
        data_type: TYPE_INT64
        dims: [ -1 ]
      }
      output {
        name: "DROPPED"
        data_type: TYPE_INT64
        dims: [ 1 ]
      }
    )pb");
    models_["fastpitch"] = Parse(R"pb(
      name: "fastpitch"
      max_batch_size: 8
      input {
        name: "INPUT__0"
        data_type: TYPE_INT64
        dims: [ -1 ]
      }
      output {
        name: "OUTPUT__0"
        data_type: TYPE_FP32
        dims: [ 80, -1 ]
      }
    )pb");
    models_["hifigan"] = Parse(R"pb(
      name: "hifigan"
      max_batch_size: 16
      input {
        name: "MEL"
        data_type: TYPE_FP32
        dims: [ 80, -1 ]
      }
      output {
        name: "AUDIO"
        data_type: TYPE_FP32
        dims: [ -1 ]
      }
    )pb");
  }

  absl::Status Validate(const std::string& steps, const std::string& extra = "") {
    const inference::ModelConfig ensemble = Parse(R"pb(
                                                    name: "tts"
                                                    platform: "ensemble"
                                                    max_batch_size: 8
                                                    input {
                                                      name: "TEXT"
                                                      data_type: TYPE_STRING
                                                      dims: [ 1 ]
                                                    }
                                                    output {
                                                      name: "AUDIO"
                                                      data_type: TYPE_FP32
                                                      dims: [ -1 ]
                                                    }
                                                  )pb" +
                                                  extra + "ensemble_scheduling { " + steps + " }");
    return ValidateEnsemble(
        ensemble,
        [this](const std::string& name,
               const std::string& version) -> absl::StatusOr<const inference::ModelConfig*> {
          auto it = models_.find(name);
          if (it == models_.end() || version == "7") {
            return absl::NotFoundError(absl::StrCat("model '", name, "' is not in the repository"));
          }
          return &it->second;
        });
  }

  std::map<std::string, inference::ModelConfig> models_;
};

constexpr char kFrontend[] = R"pb(
  step {
    model_name: "frontend"
    model_version: -1
    input_map { key: "TEXT" value: "TEXT" }
    output_map { key: "SYMBOLS" value: "symbols" }
  }
)pb";
constexpr char kFastPitch[] = R"pb(
  step {
    model_name: "fastpitch"
    model_version: -1
    input_map { key: "INPUT__0" value: "symbols" }
    output_map { key: "OUTPUT__0" value: "mel" }
  }
)pb";
constexpr char kHifigan[] = R"pb(
  step {
    model_name: "hifigan"
    model_version: -1
    input_map { key: "MEL" value: "mel" }
    output_map { key: "AUDIO" value: "AUDIO" }
  }
)pb";

void ExpectInvalid(const absl::Status& status, const std::string& where, const std::string& what) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr(where), HasSubstr(what)));
}

TEST_F(EnsembleValidationTest, AcceptsTheChainInAnyOrder) {
  EXPECT_TRUE(Validate(std::string(kFrontend) + kFastPitch + kHifigan).ok());
  EXPECT_TRUE(Validate(std::string(kHifigan) + kFrontend + kFastPitch).ok());
}

TEST_F(EnsembleValidationTest, AMissingModelNamesTheStep) {
  std::string steps = std::string(kFrontend) + kFastPitch + kHifigan;
  steps.replace(steps.find("\"hifigan\""), 9, "\"vocoder\"");
  const absl::Status status = Validate(steps);
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("ensemble_scheduling step 2 (model 'vocoder'): model 'vocoder' is not"));
}

TEST_F(EnsembleValidationTest, AMissingTensorNamesTheStepAndTheTensor) {
  ExpectInvalid(Validate(std::string(kFrontend) + kHifigan), "step 1 (model 'hifigan')",
                "input 'MEL' reads ensemble tensor 'mel', which is neither an ensemble input");
  ExpectInvalid(Validate(std::string(kFrontend) + kFastPitch), "output 'AUDIO'",
                "no step's output_map produces it");
}

TEST_F(EnsembleValidationTest, ATypeMismatchBetweenStepsNamesBoth) {
  models_["hifigan"].mutable_input(0)->set_data_type(inference::TYPE_FP16);
  ExpectInvalid(Validate(std::string(kFrontend) + kFastPitch + kHifigan),
                "step 2 (model 'hifigan'): input 'MEL' is TYPE_FP16",
                "ensemble tensor 'mel' (from ensemble_scheduling step 1 (model 'fastpitch')) is "
                "TYPE_FP32");
}

TEST_F(EnsembleValidationTest, DimsThatCannotAgreeAreRefused) {
  models_["hifigan"].mutable_input(0)->set_dims(0, 100);
  ExpectInvalid(Validate(std::string(kFrontend) + kFastPitch + kHifigan),
                "input 'MEL' has dims [100, -1]", "has dims [80, -1]");
}

TEST_F(EnsembleValidationTest, EveryStepInputMustBeMappedToARealInput) {
  std::string steps = std::string(kFrontend) + kFastPitch + kHifigan;
  steps.replace(steps.find("key: \"MEL\""), 10, "key: \"SPEC\"");
  ExpectInvalid(Validate(steps), "step 2 (model 'hifigan')", "its input 'MEL' is not in input_map");
}

TEST_F(EnsembleValidationTest, OutputMapMustNameRealOutputsOnce) {
  std::string steps = std::string(kFrontend) + kFastPitch + kHifigan;
  steps.replace(steps.find("key: \"AUDIO\""), 12, "key: \"WAVE\"");
  ExpectInvalid(Validate(steps), "step 2 (model 'hifigan')",
                "output_map names 'WAVE', which is not an output of the model");
  ExpectInvalid(Validate(std::string(kFrontend) + kFrontend + kFastPitch + kHifigan),
                "step 1 (model 'frontend'): output 'SYMBOLS' writes ensemble tensor 'symbols'",
                "already produces");
}

TEST_F(EnsembleValidationTest, BatchingMustAgree) {
  models_["fastpitch"].set_max_batch_size(4);
  ExpectInvalid(Validate(std::string(kFrontend) + kFastPitch + kHifigan),
                "step 1 (model 'fastpitch'): max_batch_size is 4; the ensemble's is 8", "");
}

TEST_F(EnsembleValidationTest, ACycleIsRefused) {
  models_["loop"] = Parse(R"pb(
    name: "loop"
    max_batch_size: 8
    input {
      name: "IN"
      data_type: TYPE_FP32
      dims: [ -1 ]
    }
    output {
      name: "OUT"
      data_type: TYPE_FP32
      dims: [ -1 ]
    }
  )pb");
  ExpectInvalid(Validate(R"pb(
                  step {
                    model_name: "loop"
                    input_map { key: "IN" value: "b" }
                    output_map { key: "OUT" value: "a" }
                  }
                  step {
                    model_name: "loop"
                    input_map { key: "IN" value: "a" }
                    output_map { key: "OUT" value: "b" }
                  }
                )pb"),
                "input 'IN' reads ensemble tensor", "(missing, or a cycle)");
}

TEST_F(EnsembleValidationTest, StepVersions) {
  inference::ModelEnsembling::Step step;
  step.set_model_version(-1);
  EXPECT_EQ(StepVersion(step), "");
  step.set_model_version(3);
  EXPECT_EQ(StepVersion(step), "3");
}

}  // namespace
}  // namespace speech
