// The gRPC adapter end to end in one process (grpc_test_support.h): every unary RPC's reply and
// status code, the client's deadline and cancellation reaching the batcher (dropped in the queue,
// never computed), a repository with a broken model, and the call context of a call without a
// deadline.
#include "server/grpc/inference_service.h"

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.grpc.pb.h"
#include "server/grpc/call_context.h"
#include "server/grpc/grpc_test_support.h"
#include "server/shared_memory/shared_memory_test_support.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST_F(InferenceServiceTest, ServerIsLiveAndReady) {
  inference::ServerLiveResponse live;
  ASSERT_TRUE(Call(&Stub::ServerLive, inference::ServerLiveRequest(), &live).ok());
  EXPECT_TRUE(live.live());
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(Call(&Stub::ServerReady, inference::ServerReadyRequest(), &ready).ok());
  EXPECT_TRUE(ready.ready());
}

TEST_F(InferenceServiceTest, ModelReadyOnlyForLoadedModelsAndVersions) {
  auto model_ready = [this](const std::string& name, const std::string& version) {
    inference::ModelReadyRequest request;
    request.set_name(name);
    request.set_version(version);
    inference::ModelReadyResponse response;
    grpc::Status status = Call(&Stub::ModelReady, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.ready();
  };
  EXPECT_TRUE(model_ready(kIdentity, ""));
  EXPECT_TRUE(model_ready(kIdentity, "1"));
  EXPECT_TRUE(model_ready(kNoBatch, ""));
  EXPECT_FALSE(model_ready(kIdentity, "2"));
  EXPECT_FALSE(model_ready("missing", ""));
}

TEST_F(InferenceServiceTest, ServerMetadataNamesServerAndExtensions) {
  inference::ServerMetadataResponse response;
  ASSERT_TRUE(Call(&Stub::ServerMetadata, inference::ServerMetadataRequest(), &response).ok());
  EXPECT_EQ(response.name(), kServerName);
  EXPECT_EQ(response.version(), kServerVersion);
  EXPECT_THAT(response.extensions(),
              ElementsAre("model_configuration", "model_repository", "schedule_policy",
                          "parameters", "statistics", "system_shared_memory"));
}

TEST_F(InferenceServiceTest, ModelMetadataDescribesTensors) {
  inference::ModelMetadataRequest request;
  request.set_name(kIdentity);
  inference::ModelMetadataResponse response;
  grpc::Status status = Call(&Stub::ModelMetadata, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.name(), kIdentity);
  EXPECT_THAT(response.versions(), ElementsAre("1"));
  EXPECT_EQ(response.platform(), "pytorch_libtorch");
  ASSERT_EQ(response.inputs_size(), 1);
  EXPECT_EQ(response.inputs(0).name(), "INPUT0");
  EXPECT_EQ(response.inputs(0).datatype(), "FP32");
  EXPECT_THAT(response.inputs(0).shape(), ElementsAre(-1, 4));  // batch dimension first
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "OUTPUT0");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(-1, 4));

  request.set_name(kNoBatch);
  request.set_version("1");
  response.Clear();
  ASSERT_TRUE(Call(&Stub::ModelMetadata, request, &response).ok());
  EXPECT_EQ(response.inputs(0).datatype(), "INT32");
  EXPECT_THAT(response.inputs(0).shape(), ElementsAre(2));  // no batch dimension
}

TEST_F(InferenceServiceTest, ModelMetadataOfUnknownModelOrVersionIsNotFound) {
  inference::ModelMetadataRequest request;
  request.set_name("missing");
  inference::ModelMetadataResponse response;
  grpc::Status status = Call(&Stub::ModelMetadata, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(),
              HasSubstr("Request for unknown model: 'missing' is not in the repository"));

  request.set_name(kIdentity);
  request.set_version("7");
  status = Call(&Stub::ModelMetadata, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("has no version '7'; loaded versions: [1]"));
}

TEST_F(InferenceServiceTest, ModelConfigIsTheValidatedConfiguration) {
  inference::ModelConfigRequest request;
  request.set_name(kNoBatch);
  inference::ModelConfigResponse response;
  grpc::Status status = Call(&Stub::ModelConfig, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // Defaults filled at load: the name from the directory, platform and model file name.
  EXPECT_EQ(response.config().name(), kNoBatch);
  EXPECT_EQ(response.config().platform(), "pytorch_libtorch");
  EXPECT_EQ(response.config().backend(), "pytorch");
  EXPECT_EQ(response.config().default_model_filename(), "model.pt");
  EXPECT_EQ(response.config().max_batch_size(), 0);
  ASSERT_EQ(response.config().input_size(), 1);
  EXPECT_EQ(response.config().input(0).name(), "INPUT0");

  request.set_name("missing");
  status = Call(&Stub::ModelConfig, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("'missing'"));
}

TEST_F(InferenceServiceTest, ModelStatisticsCountRequestsAndExecutions) {
  inference::ModelInferResponse infer_response;
  ASSERT_TRUE(Infer(IdentityRequest("ok", 3), &infer_response).ok());
  inference::ModelInferRequest bad = IdentityRequest("bad", 1);
  bad.mutable_inputs(0)->set_datatype("INT64");
  ASSERT_EQ(Infer(bad, &infer_response).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  inference::ModelStatisticsRequest request;
  request.set_name(kIdentity);
  inference::ModelStatisticsResponse response;
  grpc::Status status = Call(&Stub::ModelStatistics, request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.model_stats_size(), 1);
  const inference::ModelStatistics& stats = response.model_stats(0);
  EXPECT_EQ(stats.name(), kIdentity);
  EXPECT_EQ(stats.version(), "1");
  EXPECT_EQ(stats.inference_count(), 3u);  // rows
  EXPECT_EQ(stats.execution_count(), 1u);  // the warm-up is not counted
  EXPECT_EQ(stats.inference_stats().success().count(), 1u);
  EXPECT_EQ(stats.inference_stats().fail().count(), 1u);
  ASSERT_EQ(stats.batch_stats_size(), 1);
  EXPECT_EQ(stats.batch_stats(0).batch_size(), 3u);

  // Every model when the name is empty, in name order.
  response.Clear();
  ASSERT_TRUE(Call(&Stub::ModelStatistics, inference::ModelStatisticsRequest(), &response).ok());
  ASSERT_EQ(response.model_stats_size(), 2);
  EXPECT_EQ(response.model_stats(0).name(), kIdentity);
  EXPECT_EQ(response.model_stats(1).name(), kNoBatch);
  EXPECT_EQ(response.model_stats(1).inference_count(), 0u);

  request.set_name("missing");
  status = Call(&Stub::ModelStatistics, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  request.set_name(kIdentity);
  request.set_version("2");
  status = Call(&Stub::ModelStatistics, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("has no version '2'"));
}

TEST_F(InferenceServiceTest, RepositoryIndexListsEveryModelInNameOrder) {
  inference::RepositoryIndexResponse response;
  ASSERT_TRUE(Call(&Stub::RepositoryIndex, inference::RepositoryIndexRequest(), &response).ok());
  ASSERT_EQ(response.models_size(), 2);
  EXPECT_EQ(response.models(0).name(), kIdentity);
  EXPECT_EQ(response.models(0).version(), "1");
  EXPECT_EQ(response.models(0).state(), "READY");
  EXPECT_THAT(response.models(0).reason(), IsEmpty());
  EXPECT_EQ(response.models(1).name(), kNoBatch);
  EXPECT_EQ(response.models(1).state(), "READY");
}

TEST_F(InferenceServiceTest, RepositoryModelLoadAndUnloadNeedModelControlModeExplicit) {
  inference::RepositoryModelLoadRequest load;
  load.set_model_name(kIdentity);
  inference::RepositoryModelLoadResponse load_response;
  grpc::Status status = Call(&Stub::RepositoryModelLoad, load, &load_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("cannot load model 'identity'"));

  inference::RepositoryModelUnloadRequest unload;
  unload.set_model_name(kNoBatch);
  inference::RepositoryModelUnloadResponse unload_response;
  status = Call(&Stub::RepositoryModelUnload, unload, &unload_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(status.error_message(), HasSubstr("cannot unload model 'nobatch'"));
}

TEST_F(InferenceServiceTest, ModelInferReturnsTheModelsOutputs) {
  const inference::ModelInferRequest request = IdentityRequest("req-1", 3);
  inference::ModelInferResponse response;
  grpc::Status status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ExpectEcho(request, response);
  EXPECT_THAT(factory_.batch_rows(kIdentity), ElementsAre(kWarmupRows, 3));
}

TEST_F(InferenceServiceTest, ModelInferTakesTypedContents) {
  inference::ModelInferRequest request;
  request.set_model_name(kNoBatch);
  request.set_id("typed");
  inference::ModelInferRequest::InferInputTensor* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("INT32");
  input->add_shape(2);
  input->mutable_contents()->add_int_contents(-7);
  input->mutable_contents()->add_int_contents(123456);
  inference::ModelInferResponse response;
  grpc::Status status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.id(), "typed");
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).datatype(), "INT32");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2));
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  const int32_t expected[] = {-7, 123456};
  EXPECT_EQ(response.raw_output_contents(0),
            std::string(reinterpret_cast<const char*>(expected), sizeof(expected)));
}

TEST_F(InferenceServiceTest, SystemSharedMemoryRegionCarriesInputAndOutput) {
  TestSharedMemory object("grpc_service_shm", 256);
  inference::SystemSharedMemoryRegisterRequest region;
  region.set_name("io");
  region.set_key(object.key());
  region.set_byte_size(object.size());
  inference::SystemSharedMemoryRegisterResponse registered;
  grpc::Status status = Call(&Stub::SystemSharedMemoryRegister, region, &registered);
  ASSERT_TRUE(status.ok()) << status.error_message();
  status = Call(&Stub::SystemSharedMemoryRegister, region, &registered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ALREADY_EXISTS);

  inference::SystemSharedMemoryStatusResponse listed;
  ASSERT_TRUE(
      Call(&Stub::SystemSharedMemoryStatus, inference::SystemSharedMemoryStatusRequest(), &listed)
          .ok());
  ASSERT_EQ(listed.regions().count("io"), 1);
  EXPECT_EQ(listed.regions().at("io").key(), object.key());
  EXPECT_EQ(listed.regions().at("io").byte_size(), 256u);

  // Two rows of INPUT0 (32 bytes) at offset 0 of the region; OUTPUT0 written at offset 64.
  inference::ModelInferRequest request = IdentityRequest("shm", 2);
  std::memcpy(object.data(), request.raw_input_contents(0).data(), 32);
  const std::string sent = request.raw_input_contents(0);
  request.clear_raw_input_contents();
  SetSharedMemoryRegion(request.mutable_inputs(0)->mutable_parameters(), "io", 32);
  request.add_outputs()->set_name("OUTPUT0");
  SetSharedMemoryRegion(request.mutable_outputs(0)->mutable_parameters(), "io", 32, 64);
  inference::ModelInferResponse response;
  status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(std::string(object.data() + 64, 32), sent);
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).parameters().at("shared_memory_region").string_param(), "io");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2, 4));

  inference::SystemSharedMemoryUnregisterRequest unregister;
  unregister.set_name("io");
  inference::SystemSharedMemoryUnregisterResponse unregistered;
  ASSERT_TRUE(Call(&Stub::SystemSharedMemoryUnregister, unregister, &unregistered).ok());
  status = Infer(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("'io'"));
  inference::SystemSharedMemoryStatusRequest one;
  one.set_name("io");
  status = Call(&Stub::SystemSharedMemoryStatus, one, &listed);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(InferenceServiceTest, SystemSharedMemoryRegisterOfMissingObjectIsNotFound) {
  inference::SystemSharedMemoryRegisterRequest region;
  region.set_name("ghost");
  region.set_key("/speech_no_such_object");
  region.set_byte_size(64);
  inference::SystemSharedMemoryRegisterResponse registered;
  grpc::Status status = Call(&Stub::SystemSharedMemoryRegister, region, &registered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("/speech_no_such_object"));
}

TEST_F(InferenceServiceTest, CudaSharedMemoryHasNoRegionsAndRefusesToRegister) {
  inference::CudaSharedMemoryStatusResponse listed;
  ASSERT_TRUE(
      Call(&Stub::CudaSharedMemoryStatus, inference::CudaSharedMemoryStatusRequest(), &listed)
          .ok());
  EXPECT_TRUE(listed.regions().empty());
  inference::CudaSharedMemoryUnregisterResponse unregistered;
  EXPECT_TRUE(Call(&Stub::CudaSharedMemoryUnregister,
                   inference::CudaSharedMemoryUnregisterRequest(), &unregistered)
                  .ok());
  inference::CudaSharedMemoryRegisterRequest region;
  region.set_name("gpu0");
  region.set_byte_size(64);
  inference::CudaSharedMemoryRegisterResponse registered;
  const grpc::Status status = Call(&Stub::CudaSharedMemoryRegister, region, &registered);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("'gpu0'"));
  EXPECT_THAT(status.error_message(), HasSubstr("SystemSharedMemoryRegister"));
}

TEST_F(InferenceServiceTest, ModelInferRefusesBadRequestsUncomputed) {
  inference::ModelInferResponse response;

  inference::ModelInferRequest unknown_input = IdentityRequest("a", 1);
  unknown_input.mutable_inputs(0)->set_name("WRONG");
  grpc::Status status = Infer(unknown_input, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              HasSubstr("model 'identity': unexpected input 'WRONG'; model 'identity' expects"));

  inference::ModelInferRequest short_bytes = IdentityRequest("b", 2);
  short_bytes.mutable_raw_input_contents(0)->resize(12);
  status = Infer(short_bytes, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("raw_input_contents has 12 bytes"));

  status = Infer(IdentityRequest("c", 9), &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("batch size 9 is outside [1, max_batch_size = 8]"));

  inference::ModelInferRequest unknown_model = IdentityRequest("d", 1);
  unknown_model.set_model_name("missing");
  status = Infer(unknown_model, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(),
              HasSubstr("Request for unknown model: 'missing' is not in the repository"));

  EXPECT_THAT(factory_.batch_rows(kIdentity), ElementsAre(kWarmupRows));
}

// gRPC's own parsing would answer UNIMPLEMENTED with no message; the service parses it itself.
TEST_F(InferenceServiceTest, ModelInferRefusesARequestThatDoesNotParse) {
  inference::ModelInferRequest request = IdentityRequest("a", 1);
  request.mutable_inputs(0)->set_name("IN\xffPUT0");  // proto3 strings must be UTF-8
  inference::ModelInferResponse response;
  const grpc::Status status = Infer(request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("is not a valid inference.ModelInferRequest"));
  EXPECT_THAT(factory_.batch_rows(kIdentity), ElementsAre(kWarmupRows));
}

// The client's deadline reaches the batcher: a request still queued when it passes is answered
// by the server at once (while the model is still busy) and never computed.
TEST_F(InferenceServiceTest, RequestQueuedPastItsDeadlineIsDroppedUncomputed) {
  factory_.Hold(kIdentity);
  PendingCall* first = StartInfer(IdentityRequest("first", 1), "first");
  factory_.WaitForExecutions(kIdentity, 2);  // the warm-up and `first`, which is held
  PendingCall* second = StartInfer(IdentityRequest("second", 2), "second", absl::Milliseconds(200));
  second->done.WaitForNotification();
  EXPECT_EQ(second->status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);

  // Only a batcher that knows the deadline answers before the model is free again; without it
  // the request would wait in the queue until the release below.
  std::optional<grpc::Status> sent = observer_.WaitForSent("second", kServerWait);
  ASSERT_TRUE(sent.has_value()) << "the server did not drop the expired request from its queue";
  // Whichever the scheduler noticed first: the deadline, or the call that gRPC cancelled for it.
  EXPECT_THAT(sent->error_code(),
              AnyOf(grpc::StatusCode::DEADLINE_EXCEEDED, grpc::StatusCode::CANCELLED));
  EXPECT_THAT(sent->error_message(), HasSubstr("in the queue of model 'identity'"));

  factory_.Release(kIdentity);
  first->done.WaitForNotification();
  ASSERT_TRUE(first->status.ok()) << first->status.error_message();
  ExpectEcho(first->request, first->response);
  EXPECT_THAT(factory_.batch_rows(kIdentity), ElementsAre(kWarmupRows, 1));
}

// A request whose client cancelled while it was queued is dropped, not computed.
TEST_F(InferenceServiceTest, CancelledRequestIsDroppedUncomputed) {
  factory_.Hold(kIdentity);
  PendingCall* first = StartInfer(IdentityRequest("first", 1), "first");
  factory_.WaitForExecutions(kIdentity, 2);  // the warm-up and `first`, which is held
  PendingCall* second = StartInfer(IdentityRequest("second", 2), "second");
  // Once the server has the message its handler runs and queues it, cancelled or not.
  ASSERT_TRUE(observer_.WaitForReceived("second", 1, kServerWait));
  second->context.TryCancel();
  second->done.WaitForNotification();
  EXPECT_EQ(second->status.error_code(), grpc::StatusCode::CANCELLED);
  ASSERT_TRUE(observer_.WaitForCancelled("second", kServerWait));

  factory_.Release(kIdentity);
  first->done.WaitForNotification();
  ASSERT_TRUE(first->status.ok()) << first->status.error_message();
  std::optional<grpc::Status> sent = observer_.WaitForSent("second", kServerWait);
  ASSERT_TRUE(sent.has_value()) << "the server never answered the cancelled request";
  EXPECT_EQ(sent->error_code(), grpc::StatusCode::CANCELLED) << sent->error_message();
  EXPECT_THAT(sent->error_message(), HasSubstr("request cancelled after waiting"));
  EXPECT_THAT(factory_.batch_rows(kIdentity), ElementsAre(kWarmupRows, 1));
}

// A repository where one model failed to load.
class InferenceServiceWithBrokenModelTest : public InferenceServiceTest {
 protected:
  void SetUp() override {
    const fs::path repository = NewRepositoryPath();
    WriteModel(repository, kIdentity, kIdentityConfig);
    WriteModel(repository, "broken", kBrokenConfig);
    ASSERT_NO_FATAL_FAILURE(Serve(repository));
  }
};

TEST_F(InferenceServiceWithBrokenModelTest, ReportsTheBrokenModelAndServesTheOthers) {
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(Call(&Stub::ServerReady, inference::ServerReadyRequest(), &ready).ok());
  EXPECT_FALSE(ready.ready());

  inference::ModelReadyRequest model_ready;
  model_ready.set_name("broken");
  inference::ModelReadyResponse model_ready_response;
  ASSERT_TRUE(Call(&Stub::ModelReady, model_ready, &model_ready_response).ok());
  EXPECT_FALSE(model_ready_response.ready());

  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(Call(&Stub::RepositoryIndex, inference::RepositoryIndexRequest(), &index).ok());
  ASSERT_EQ(index.models_size(), 2);
  EXPECT_EQ(index.models(0).name(), "broken");
  EXPECT_EQ(index.models(0).state(), "UNAVAILABLE");
  EXPECT_THAT(index.models(0).version(), IsEmpty());
  EXPECT_THAT(index.models(0).reason(), HasSubstr("got platform 'onnxruntime_onnx'"));
  EXPECT_EQ(index.models(1).name(), kIdentity);
  EXPECT_EQ(index.models(1).state(), "READY");

  inference::RepositoryIndexRequest only_ready;
  only_ready.set_ready(true);
  index.Clear();
  ASSERT_TRUE(Call(&Stub::RepositoryIndex, only_ready, &index).ok());
  ASSERT_EQ(index.models_size(), 1);
  EXPECT_EQ(index.models(0).name(), kIdentity);

  inference::ModelMetadataRequest metadata;
  metadata.set_name("broken");
  inference::ModelMetadataResponse metadata_response;
  grpc::Status status = Call(&Stub::ModelMetadata, metadata, &metadata_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("model 'broken' is not ready"));

  const inference::ModelInferRequest request = IdentityRequest("still-served", 1);
  inference::ModelInferResponse response;
  status = Infer(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ExpectEcho(request, response);
}

// gRPC reports "no deadline" as the far end of its clock; the core must see an infinite one.
TEST(CallContextTest, NoClientDeadlineIsAnInfiniteDeadline) {
  grpc::CallbackServerContext context;
  CallContext call = CallContextOf(&context);
  EXPECT_EQ(call.deadline, absl::InfiniteFuture());
  ASSERT_TRUE(call.is_cancelled != nullptr);
  EXPECT_FALSE(call.is_cancelled());
}

}  // namespace
}  // namespace speech
