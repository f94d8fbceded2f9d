// InferenceCore's answers that run no model: health, server and model metadata, the validated
// configuration, statistics by model and version, and the repository index.
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.pb.h"
#include "server/core/core_test_support.h"
#include "server/core/inference_core.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

// ---- Health ----

TEST_F(InferenceCoreTest, ServerIsReadyWhenEveryModelLoads) {
  LoadStandardRepository();
  EXPECT_TRUE(core_->ServerLive());
  EXPECT_TRUE(core_->ServerReady());
}

TEST_F(InferenceCoreTest, ServerIsNotReadyWhenAModelConfigIsBroken) {
  AddModel("echo", kEchoConfig, {1, 2});
  AddModel("broken", "max_batch_size: \"lots\"");
  Load();
  EXPECT_TRUE(core_->ServerLive());
  EXPECT_FALSE(core_->ServerReady());
  inference::ModelReadyRequest ready;
  ready.set_name("broken");
  EXPECT_FALSE(core_->ModelReady(ready));
  ready.set_name("echo");
  EXPECT_TRUE(core_->ModelReady(ready));
}

TEST_F(InferenceCoreTest, ModelReadyByNameAndVersion) {
  LoadStandardRepository();
  inference::ModelReadyRequest request;
  request.set_name("echo");
  EXPECT_TRUE(core_->ModelReady(request));
  request.set_version("1");
  EXPECT_TRUE(core_->ModelReady(request));
  request.set_version("2");
  EXPECT_TRUE(core_->ModelReady(request));
  request.set_version("3");
  EXPECT_FALSE(core_->ModelReady(request));
  request.set_name("tacotron");
  request.clear_version();
  EXPECT_FALSE(core_->ModelReady(request));
}

// ---- Metadata and configuration ----

TEST_F(InferenceCoreTest, ServerMetadata) {
  LoadStandardRepository();
  inference::ServerMetadataResponse response;
  core_->ServerMetadata(&response);
  EXPECT_EQ(response.name(), "test-server");
  EXPECT_EQ(response.version(), "9.8.7");
  EXPECT_THAT(response.extensions(),
              UnorderedElementsAre("model_configuration", "model_repository", "schedule_policy",
                                   "parameters", "statistics", "system_shared_memory"));
}

TEST_F(InferenceCoreTest, ModelMetadataOfABatchingModelPrependsTheBatchDimension) {
  LoadStandardRepository();
  inference::ModelMetadataRequest request;
  request.set_name("echo");
  inference::ModelMetadataResponse response;
  ASSERT_TRUE(core_->ModelMetadata(request, &response).ok());
  EXPECT_EQ(response.name(), "echo");
  EXPECT_THAT(response.versions(), ElementsAre("1", "2"));
  EXPECT_EQ(response.platform(), "pytorch_libtorch");
  ASSERT_EQ(response.inputs_size(), 2);
  EXPECT_EQ(response.inputs(0).name(), "AUDIO");
  EXPECT_EQ(response.inputs(0).datatype(), "FP32");
  EXPECT_THAT(response.inputs(0).shape(), ElementsAre(-1, -1));
  EXPECT_EQ(response.inputs(1).name(), "LENGTH");
  EXPECT_EQ(response.inputs(1).datatype(), "INT32");
  EXPECT_THAT(response.inputs(1).shape(), ElementsAre(-1, 1));
  ASSERT_EQ(response.outputs_size(), 2);
  EXPECT_EQ(response.outputs(0).name(), "OUT");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(-1, -1));
  EXPECT_EQ(response.outputs(1).name(), "OUT_LENGTH");
  EXPECT_EQ(response.outputs(1).datatype(), "INT32");
  EXPECT_THAT(response.outputs(1).shape(), ElementsAre(-1, 1));
}

TEST_F(InferenceCoreTest, ModelMetadataLeavesOutTheInputsTheServerFills) {
  AddModel("asr", R"pb(
    platform: "pytorch_libtorch"
    max_batch_size: 4
    input {
      name: "AUDIO"
      data_type: TYPE_FP32
      dims: [ -1 ]
      ragged_padding { pad_value: 0 }
    }
    output {
      name: "LOGITS"
      data_type: TYPE_FP32
      dims: [ -1 ]
    }
    batch_input {
      kind: BATCH_ELEMENT_COUNT
      target_name: "AUDIO_LENGTHS"
      data_type: TYPE_INT64
      source_input: "AUDIO"
    }
    batch_output {
      kind: BATCH_SCATTER_WITH_INPUT_SHAPE
      target_name: "LOGITS"
      source_input: "AUDIO"
    }
  )pb");
  Load();
  inference::ModelMetadataRequest request;
  request.set_name("asr");
  inference::ModelMetadataResponse response;
  ASSERT_TRUE(core_->ModelMetadata(request, &response).ok());
  ASSERT_EQ(response.inputs_size(), 1);
  EXPECT_EQ(response.inputs(0).name(), "AUDIO");
  EXPECT_THAT(response.inputs(0).shape(), ElementsAre(-1, -1));
}

TEST_F(InferenceCoreTest, ConstraintsRefuseARequestBeforeItIsQueued) {
  AddModel("tts", R"pb(
    platform: "pytorch_libtorch"
    max_batch_size: 4
    input {
      name: "TEXT"
      data_type: TYPE_INT64
      dims: [ -1 ]
      constraints { max_value: 147 }
    }
    output {
      name: "TEXT_OUT"
      data_type: TYPE_INT64
      dims: [ -1 ]
    }
  )pb");
  Load();
  const size_t warmup_runs = factory_.batch_rows("tts").size();
  inference::ModelInferRequest message;
  message.set_model_name("tts");
  AddInput(&message, "TEXT", "INT64", {1, 2});
  const int64_t ids[] = {5, 148};
  message.add_raw_input_contents(std::string(reinterpret_cast<const char*>(ids), sizeof(ids)));
  inference::ModelInferResponse response;
  absl::Status outcome;
  core_->StartInference(&message, CallContext(), &response,
                        [&](absl::Status status) { outcome = std::move(status); });
  EXPECT_EQ(outcome.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(outcome.message()),
              AllOf(HasSubstr("model 'tts'"), HasSubstr("element 1 is 148")));
  EXPECT_EQ(factory_.batch_rows("tts").size(), warmup_runs);  // never reached the model
  EXPECT_EQ(Statistics("tts", "1").inference_stats().fail().count(), 1u);
}

TEST_F(InferenceCoreTest, ModelMetadataOfAModelThatDoesNotBatch) {
  LoadStandardRepository();
  inference::ModelMetadataRequest request;
  request.set_name("plain");
  request.set_version("1");
  inference::ModelMetadataResponse response;
  ASSERT_TRUE(core_->ModelMetadata(request, &response).ok());
  EXPECT_EQ(response.name(), "plain");
  EXPECT_THAT(response.versions(), ElementsAre("1"));
  // Filled from the backend when the configuration names none.
  EXPECT_EQ(response.platform(), "pytorch_libtorch");
  ASSERT_EQ(response.inputs_size(), 1);
  EXPECT_EQ(response.inputs(0).datatype(), "INT64");
  EXPECT_THAT(response.inputs(0).shape(), ElementsAre(2));
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "Y");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2));
}

TEST_F(InferenceCoreTest, ModelMetadataOfAMissingVersionIsNotFound) {
  LoadStandardRepository();
  inference::ModelMetadataRequest request;
  request.set_name("echo");
  request.set_version("3");
  inference::ModelMetadataResponse response;
  EXPECT_THAT(core_->ModelMetadata(request, &response),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("'echo'"), HasSubstr("'3'"), HasSubstr("[1, 2]"))));
  request.set_name("tacotron");
  request.clear_version();
  EXPECT_THAT(core_->ModelMetadata(request, &response),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'tacotron'")));
}

TEST_F(InferenceCoreTest, ModelConfigIsTheValidatedConfiguration) {
  LoadStandardRepository();
  inference::ModelConfigRequest request;
  request.set_name("plain");
  inference::ModelConfigResponse response;
  ASSERT_TRUE(core_->ModelConfig(request, &response).ok());
  const inference::ModelConfig& config = response.config();
  EXPECT_EQ(config.name(), "plain");
  EXPECT_EQ(config.platform(), "pytorch_libtorch");
  EXPECT_EQ(config.backend(), "pytorch");
  EXPECT_EQ(config.default_model_filename(), "model.pt");
  EXPECT_EQ(config.max_batch_size(), 0);
  ASSERT_EQ(config.input_size(), 1);
  EXPECT_EQ(config.input(0).name(), "X");
  EXPECT_EQ(config.input(0).data_type(), inference::TYPE_INT64);
}

TEST_F(InferenceCoreTest, ModelConfigOfAMissingModelIsNotFound) {
  LoadStandardRepository();
  inference::ModelConfigRequest request;
  request.set_name("tacotron");
  inference::ModelConfigResponse response;
  EXPECT_THAT(core_->ModelConfig(request, &response),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'tacotron'")));
  request.set_name("echo");
  request.set_version("5");
  EXPECT_THAT(core_->ModelConfig(request, &response),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'5'")));
}

// ---- Statistics ----

std::vector<std::string> NamesAndVersions(const inference::ModelStatisticsResponse& response) {
  std::vector<std::string> result;
  for (const inference::ModelStatistics& stats : response.model_stats()) {
    result.push_back(absl::StrCat(stats.name(), ":", stats.version()));
  }
  return result;
}

TEST_F(InferenceCoreTest, StatisticsOfEveryModel) {
  LoadStandardRepository();
  inference::ModelStatisticsResponse response;
  ASSERT_TRUE(core_->ModelStatistics(inference::ModelStatisticsRequest(), &response).ok());
  EXPECT_THAT(NamesAndVersions(response), ElementsAre("echo:1", "echo:2", "plain:1"));
}

TEST_F(InferenceCoreTest, StatisticsOfOneModel) {
  LoadStandardRepository();
  inference::ModelStatisticsRequest request;
  request.set_name("echo");
  inference::ModelStatisticsResponse response;
  ASSERT_TRUE(core_->ModelStatistics(request, &response).ok());
  EXPECT_THAT(NamesAndVersions(response), ElementsAre("echo:1", "echo:2"));
}

TEST_F(InferenceCoreTest, StatisticsOfOneVersion) {
  LoadStandardRepository();
  inference::ModelStatisticsRequest request;
  request.set_name("echo");
  request.set_version("1");
  inference::ModelStatisticsResponse response;
  ASSERT_TRUE(core_->ModelStatistics(request, &response).ok());
  EXPECT_THAT(NamesAndVersions(response), ElementsAre("echo:1"));
}

TEST_F(InferenceCoreTest, StatisticsOfAMissingModelOrVersionAreNotFound) {
  AddModel("echo", kEchoConfig, {1, 2});
  AddModel("broken", "max_batch_size: \"lots\"");
  Load();
  inference::ModelStatisticsRequest request;
  inference::ModelStatisticsResponse response;
  request.set_name("tacotron");
  EXPECT_THAT(core_->ModelStatistics(request, &response),
              StatusIs(absl::StatusCode::kNotFound,
                       AllOf(HasSubstr("'tacotron'"), HasSubstr("not in the repository"))));
  request.set_name("broken");
  EXPECT_THAT(
      core_->ModelStatistics(request, &response),
      StatusIs(absl::StatusCode::kNotFound, AllOf(HasSubstr("'broken'"), HasSubstr("not ready"))));
  request.set_name("echo");
  request.set_version("3");
  EXPECT_THAT(core_->ModelStatistics(request, &response),
              StatusIs(absl::StatusCode::kNotFound, AllOf(HasSubstr("'echo'"), HasSubstr("'3'"))));
  request.set_name("tacotron");
  request.set_version("1");
  EXPECT_THAT(core_->ModelStatistics(request, &response),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'tacotron'")));
  EXPECT_EQ(response.model_stats_size(), 0);
  // Every model means every loaded one: the broken model is left out.
  ASSERT_TRUE(core_->ModelStatistics(inference::ModelStatisticsRequest(), &response).ok());
  EXPECT_THAT(NamesAndVersions(response), ElementsAre("echo:1", "echo:2"));
}

// ---- Repository ----

TEST_F(InferenceCoreTest, RepositoryIndexListsEveryModel) {
  AddModel("echo", kEchoConfig, {1, 2});
  AddModel("broken", "max_batch_size: \"lots\"");
  AddModel("plain", kPlainConfig);
  Load();
  inference::RepositoryIndexResponse response;
  core_->RepositoryIndex(inference::RepositoryIndexRequest(), &response);
  std::vector<std::string> entries;
  for (const auto& model : response.models()) {
    entries.push_back(absl::StrCat(model.name(), ":", model.version(), ":", model.state()));
  }
  EXPECT_THAT(entries,
              ElementsAre("broken::UNAVAILABLE", "echo:1:READY", "echo:2:READY", "plain:1:READY"));
  EXPECT_THAT(response.models(0).reason(), HasSubstr("config.pbtxt"));
  EXPECT_EQ(response.models(1).reason(), "");
}

TEST_F(InferenceCoreTest, RepositoryIndexOfReadyModelsOnly) {
  AddModel("echo", kEchoConfig, {1, 2});
  AddModel("broken", "max_batch_size: \"lots\"");
  AddModel("plain", kPlainConfig);
  Load();
  inference::RepositoryIndexRequest request;
  request.set_ready(true);
  inference::RepositoryIndexResponse response;
  core_->RepositoryIndex(request, &response);
  std::vector<std::string> entries;
  for (const auto& model : response.models()) {
    entries.push_back(absl::StrCat(model.name(), ":", model.version(), ":", model.state()));
  }
  EXPECT_THAT(entries, ElementsAre("echo:1:READY", "echo:2:READY", "plain:1:READY"));
}

TEST_F(InferenceCoreTest, RepositoryModelLoadAndUnloadNeedModelControlModeExplicit) {
  LoadStandardRepository();
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("echo");
  EXPECT_THAT(
      core_->RepositoryModelLoad(load),
      StatusIs(absl::StatusCode::kUnavailable,
               AllOf(HasSubstr("cannot load model 'echo'"), HasSubstr("model control mode 'none'"),
                     HasSubstr("--model-control-mode=explicit"))));
  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("plain");
  EXPECT_THAT(core_->RepositoryModelUnload(unload),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("cannot unload model 'plain'")));
  // Nothing was unloaded.
  inference::ModelReadyRequest ready;
  ready.set_name("plain");
  EXPECT_TRUE(core_->ModelReady(ready));
}

TEST_F(InferenceCoreTest, RepositoryModelLoadTakesAConfigOverride) {
  control_mode_ = ModelControlMode::kExplicit;
  AddModel("plain", kPlainConfig);
  Load();
  inference::ModelReadyRequest ready;
  ready.set_name("plain");
  EXPECT_FALSE(core_->ModelReady(ready));  // explicit mode loads nothing unasked

  inference::RepositoryModelLoadRequest load;
  load.set_model_name("plain");
  ASSERT_TRUE(core_->RepositoryModelLoad(load).ok());
  EXPECT_TRUE(core_->ModelReady(ready));

  (*load.mutable_parameters())["config"].set_string_param(
      R"({"backend": "pytorch", "max_batch_size": 0, "input": [{"name": "IN", "data_type": "TYPE_FP32", "dims": [2]}],
          "output": [{"name": "OUT", "data_type": "TYPE_FP32", "dims": [2]}]})");
  ASSERT_TRUE(core_->RepositoryModelLoad(load).ok());
  inference::ModelConfigRequest config_request;
  config_request.set_name("plain");
  inference::ModelConfigResponse config;
  ASSERT_TRUE(core_->ModelConfig(config_request, &config).ok());
  EXPECT_EQ(config.config().input(0).name(), "IN");
}

TEST_F(InferenceCoreTest, RepositoryModelControlParametersAreChecked) {
  control_mode_ = ModelControlMode::kExplicit;
  AddModel("plain", kPlainConfig);
  Load();
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("plain");
  (*load.mutable_parameters())["config"].set_bool_param(true);
  EXPECT_THAT(core_->RepositoryModelLoad(load),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("parameter 'config' must be a string")));
  load.mutable_parameters()->clear();
  (*load.mutable_parameters())["file:1/model.pt"].set_bytes_param("weights");
  EXPECT_THAT(core_->RepositoryModelLoad(load),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("parameter 'file:1/model.pt' is not supported"),
                             HasSubstr("model files cannot be sent"))));
  load.mutable_parameters()->clear();
  load.set_model_name("missing");
  EXPECT_THAT(core_->RepositoryModelLoad(load),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("failed to load 'missing': model 'missing' has no directory")));

  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name("plain");
  (*unload.mutable_parameters())["unload_dependents"].set_string_param("yes");
  EXPECT_THAT(core_->RepositoryModelUnload(unload),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("'unload_dependents' must be true or false")));
  unload.mutable_parameters()->clear();
  EXPECT_THAT(core_->RepositoryModelUnload(unload),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("it is not loaded")));
}

}  // namespace
}  // namespace speech
