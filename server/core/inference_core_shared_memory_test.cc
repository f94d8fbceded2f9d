// Inference with system shared memory through the request core: inputs read from a registered
// region, outputs written into one (mixed with ordinary tensors), the region's status, and the
// errors of regions that are missing, too small or in use.
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/core/core_test_support.h"
#include "server/core/inference_core.h"
#include "server/shared_memory/shared_memory_test_support.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

class SharedMemoryCoreTest : public InferenceCoreTest {
 protected:
  SharedMemoryCoreTest() : object_("core_shm", 4096) {}

  void SetUp() override {
    InferenceCoreTest::SetUp();
    LoadStandardRepository();
    inference::SystemSharedMemoryRegisterRequest region;
    region.set_name("io");
    region.set_key(object_.key());
    region.set_byte_size(object_.size());
    ASSERT_TRUE(core_->SystemSharedMemoryRegister(region).ok());
  }

  // A request to echo (1 row): AUDIO (3 floats) read from the region at `audio_offset`, LENGTH
  // in the message; OUT written to the region at `out_offset`, OUT_LENGTH in the reply.
  inference::ModelInferRequest Request(int64_t audio_offset, int64_t out_offset,
                                       int64_t out_bytes = 12) {
    inference::ModelInferRequest message;
    message.set_model_name("echo");
    auto* audio = message.add_inputs();
    audio->set_name("AUDIO");
    audio->set_datatype("FP32");
    audio->add_shape(1);
    audio->add_shape(3);
    SetSharedMemoryRegion(audio->mutable_parameters(), "io", 12, audio_offset);
    auto* length = message.add_inputs();
    length->set_name("LENGTH");
    length->set_datatype("INT32");
    length->add_shape(1);
    length->add_shape(1);
    message.add_raw_input_contents(Bytes(std::vector<int32_t>{3}));
    auto* out = message.add_outputs();
    out->set_name("OUT");
    SetSharedMemoryRegion(out->mutable_parameters(), "io", out_bytes, out_offset);
    message.add_outputs()->set_name("OUT_LENGTH");
    return message;
  }

  absl::Status Run(const inference::ModelInferRequest& message,
                   inference::ModelInferResponse* response) {
    absl::Notification done;
    absl::Status result;
    core_->StartInference(&message, CallContext(), response, [&](absl::Status status) {
      result = std::move(status);
      done.Notify();
    });
    done.WaitForNotification();
    return result;
  }

  TestSharedMemory object_;
};

TEST_F(SharedMemoryCoreTest, InputsComeFromAndOutputsGoToTheRegion) {
  const std::vector<float> audio = {0.25f, -1.5f, 3.0f};
  std::memcpy(object_.data() + 100, audio.data(), 12);
  inference::ModelInferResponse response;
  ASSERT_TRUE(Run(Request(100, 2000), &response).ok());

  std::vector<float> written(3);
  std::memcpy(written.data(), object_.data() + 2000, 12);
  EXPECT_EQ(written, audio);
  ASSERT_EQ(response.outputs_size(), 2);
  // Entries still line up with outputs: OUT's is empty, OUT_LENGTH's holds its bytes.
  ASSERT_EQ(response.raw_output_contents_size(), 2);
  EXPECT_TRUE(response.raw_output_contents(0).empty());
  EXPECT_EQ(response.outputs(0).parameters().at("shared_memory_region").string_param(), "io");
  EXPECT_EQ(response.outputs(0).parameters().at("shared_memory_byte_size").int64_param(), 12);
  EXPECT_EQ(response.raw_output_contents(1), Bytes(std::vector<int32_t>{3}));

  inference::SystemSharedMemoryStatusResponse status;
  ASSERT_TRUE(core_->SystemSharedMemoryStatus({}, &status).ok());
  ASSERT_EQ(status.regions().count("io"), 1u);
  EXPECT_EQ(status.regions().at("io").key(), object_.key());
  EXPECT_EQ(status.regions().at("io").byte_size(), 4096u);
  // The request is done: its lease is gone, so the region can go.
  inference::SystemSharedMemoryUnregisterRequest unregister;
  unregister.set_name("io");
  EXPECT_TRUE(core_->SystemSharedMemoryUnregister(unregister).ok());
}

TEST_F(SharedMemoryCoreTest, RegionProblemsAreInvalidArgumentsNamingTheTensor) {
  inference::ModelInferResponse response;
  // An input byte size that disagrees with its shape.
  inference::ModelInferRequest message = Request(0, 2000);
  SetSharedMemoryRegion(message.mutable_inputs(0)->mutable_parameters(), "io", 16);
  EXPECT_THAT(
      Run(message, &response),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("model 'echo'"), HasSubstr("input 'AUDIO'"),
                     HasSubstr("its shared-memory region has 16 bytes"), HasSubstr("needs 12"))));
  // An output region too small for what the model produced.
  EXPECT_THAT(
      Run(Request(0, 2000, /*out_bytes=*/8), &response),
      StatusIs(absl::StatusCode::kInvalidArgument,
               AllOf(HasSubstr("output 'OUT': 12 bytes"), HasSubstr("do not fit the 8 bytes"))));
  // Beyond the region.
  EXPECT_THAT(Run(Request(4090, 2000), &response),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("exceeds the 4096 bytes of region 'io'")));
  // A region that was never registered.
  message = Request(0, 2000);
  SetSharedMemoryRegion(message.mutable_inputs(0)->mutable_parameters(), "nowhere", 12);
  EXPECT_THAT(Run(message, &response),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("shared-memory region 'nowhere' is not registered")));
  // The server still serves the region afterwards.
  EXPECT_TRUE(Run(Request(0, 2000), &response).ok());
}

TEST_F(SharedMemoryCoreTest, RegionInUseByARequestInFlightCannotBeUnregistered) {
  factory_.Hold("echo");
  const inference::ModelInferRequest message = Request(0, 2000);
  inference::ModelInferResponse response;
  absl::Notification done;
  core_->StartInference(&message, CallContext(), &response, [&](absl::Status) { done.Notify(); });
  inference::SystemSharedMemoryUnregisterRequest unregister;
  unregister.set_name("io");
  EXPECT_THAT(core_->SystemSharedMemoryUnregister(unregister),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("in use")));
  factory_.Release("echo");
  done.WaitForNotification();
  EXPECT_TRUE(core_->SystemSharedMemoryUnregister(unregister).ok());
}

// A client may unregister as soon as it has the reply: the regions are handed back before it,
// both when the request succeeds and when it fails.
TEST_F(SharedMemoryCoreTest, RegionsAreBackBeforeTheReply) {
  inference::SystemSharedMemoryUnregisterRequest unregister;
  unregister.set_name("io");
  inference::ModelInferRequest too_small = Request(0, 2000);
  SetSharedMemoryRegion(too_small.mutable_inputs(0)->mutable_parameters(), "io", 16);
  for (const inference::ModelInferRequest& message : {Request(0, 2000), too_small}) {
    inference::ModelInferResponse response;
    absl::Notification done;
    absl::Status unregistered = absl::UnknownError("not called");
    core_->StartInference(&message, CallContext(), &response, [&](absl::Status) {
      unregistered = core_->SystemSharedMemoryUnregister(unregister);
      done.Notify();
    });
    done.WaitForNotification();
    EXPECT_TRUE(unregistered.ok()) << unregistered;
    inference::SystemSharedMemoryRegisterRequest region;
    region.set_name("io");
    region.set_key(object_.key());
    region.set_byte_size(object_.size());
    ASSERT_TRUE(core_->SystemSharedMemoryRegister(region).ok());
  }
}

}  // namespace
}  // namespace speech
