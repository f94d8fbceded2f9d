// Ensembles through InferenceCore, on fake instances: steps chained and in parallel, each on its
// own model's batcher; a failing step fails only its request, naming the step; statistics of the
// ensemble and of every composing model.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/core_test_support.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

struct Outcome {
  std::function<void(absl::Status)> Callback() {
    return [this](absl::Status result) {
      status = std::move(result);
      if (calls.fetch_add(1) == 0) done.Notify();
    };
  }
  absl::Notification done;
  absl::Status status = absl::UnknownError("done not called");
  std::atomic<int> calls{0};
};

// The fake instances copy input j to output j: "copy" turns X into Y, "copy2" too.
std::string CopyModel(const std::string& name) {
  return absl::StrCat(R"pb(
                        platform: "pytorch_libtorch"
                        max_batch_size: 8
                        input {
                          name: "X"
                          data_type: TYPE_FP32
                          dims: [ -1 ]
                          constraints { min_length: 2 }
                        }
                        output {
                          name: "Y"
                          data_type: TYPE_FP32
                          dims: [ -1 ]
                        }
                        dynamic_batching {}
                      )pb",
                      "name: \"", name, "\"");
}

// A chain (copy, then copy2) and, in parallel with it, a branch (copy again on the input).
constexpr char kEnsemble[] = R"pb(
  name: "pipe"
  platform: "ensemble"
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
  output {
    name: "BRANCH"
    data_type: TYPE_FP32
    dims: [ -1 ]
  }
  ensemble_scheduling {
    step {
      model_name: "copy2"
      model_version: -1
      input_map { key: "X" value: "middle" }
      output_map { key: "Y" value: "OUT" }
    }
    step {
      model_name: "copy"
      model_version: -1
      input_map { key: "X" value: "IN" }
      output_map { key: "Y" value: "middle" }
    }
    step {
      model_name: "copy"
      model_version: -1
      input_map { key: "X" value: "IN" }
      output_map { key: "Y" value: "BRANCH" }
    }
  }
)pb";

class EnsembleTest : public InferenceCoreTest {
 protected:
  void LoadPipeline() {
    AddModel("copy", CopyModel("copy"));
    AddModel("copy2", CopyModel("copy2"));
    AddModel("pipe", kEnsemble);
    Load();
  }

  static inference::ModelInferRequest Request(const std::vector<float>& samples) {
    inference::ModelInferRequest message;
    message.set_model_name("pipe");
    message.set_id("ensemble-1");
    AddInput(&message, "IN", "FP32", {1, static_cast<int64_t>(samples.size())});
    message.add_raw_input_contents(Bytes(samples));
    return message;
  }
};

TEST_F(EnsembleTest, StepsRunOnTheirModelsAndTheOutputsArrive) {
  LoadPipeline();
  const inference::ModelInferRequest message = Request({1.5f, -2.0f, 3.0f});
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(response.model_name(), "pipe");
  EXPECT_EQ(response.id(), "ensemble-1");
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.outputs(0).name(), "OUT");
  EXPECT_EQ(response.outputs(1).name(), "BRANCH");
  EXPECT_EQ(response.raw_output_contents(0), message.raw_input_contents(0));
  EXPECT_EQ(response.raw_output_contents(1), message.raw_input_contents(0));
  EXPECT_EQ(outcome.calls.load(), 1);
  // Every composing model counted its own request; the ensemble counted one.
  EXPECT_EQ(Statistics("pipe", "1").inference_stats().success().count(), 1u);
  EXPECT_EQ(Statistics("copy", "1").inference_stats().success().count(), 2u);
  EXPECT_EQ(Statistics("copy2", "1").inference_stats().success().count(), 1u);
}

TEST_F(EnsembleTest, AFailingStepFailsTheRequestNamingTheStep) {
  LoadPipeline();
  factory_.FailExecutionsOf("copy2", absl::ResourceExhaustedError("out of memory"));
  const inference::ModelInferRequest message = Request({1, 2, 3});
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(outcome.status.message()),
              AllOf(HasSubstr("model 'pipe': step 0 (model 'copy2')"), HasSubstr("out of memory")));
  EXPECT_EQ(response.outputs_size(), 0);
  EXPECT_EQ(Statistics("pipe", "1").inference_stats().fail().count(), 1u);
  // The next request, once the model works again, succeeds.
  factory_.FailExecutionsOf("copy2", absl::OkStatus());
  Outcome again;
  inference::ModelInferResponse second;
  core_->StartInference(&message, CallContext(), &second, again.Callback());
  again.done.WaitForNotification();
  EXPECT_TRUE(again.status.ok()) << again.status;
}

TEST_F(EnsembleTest, AStepsConstraintsAreCheckedOnWhatTheStepsBeforeItProduced) {
  LoadPipeline();
  const inference::ModelInferRequest message = Request({7});  // copy needs 2 elements
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  EXPECT_EQ(outcome.status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      std::string(outcome.status.message()),
      AllOf(HasSubstr("model 'pipe': step 1 (model 'copy')"), HasSubstr("below the minimum 2")));
}

TEST_F(EnsembleTest, AnEnsembleWithAMissingModelIsUnavailableAndTheOthersServe) {
  AddModel("copy", CopyModel("copy"));
  AddModel("pipe", kEnsemble);  // copy2 is missing
  Load();
  inference::RepositoryIndexRequest request;
  inference::RepositoryIndexResponse index;
  core_->RepositoryIndex(request, &index);
  ASSERT_EQ(index.models_size(), 2);
  EXPECT_EQ(index.models(0).name(), "copy");
  EXPECT_EQ(index.models(0).state(), "READY");
  EXPECT_EQ(index.models(1).name(), "pipe");
  EXPECT_EQ(index.models(1).state(), "UNAVAILABLE");
  EXPECT_THAT(index.models(1).reason(),
              AllOf(HasSubstr("pipe/config.pbtxt"),
                    HasSubstr("ensemble_scheduling step 0 (model 'copy2')")));
  EXPECT_FALSE(core_->ServerReady());
}

TEST_F(EnsembleTest, MetadataShowsTheEnsemblesOwnInputsAndPlatform) {
  LoadPipeline();
  inference::ModelMetadataRequest request;
  request.set_name("pipe");
  inference::ModelMetadataResponse response;
  ASSERT_TRUE(core_->ModelMetadata(request, &response).ok());
  EXPECT_EQ(response.platform(), "ensemble");
  ASSERT_EQ(response.inputs_size(), 1);
  EXPECT_EQ(response.inputs(0).name(), "IN");
}

}  // namespace
}  // namespace speech
