// Reading a request's shared-memory parameters and lending the regions its tensors name.
#include "server/shared_memory/shared_memory_tensors.h"

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/shared_memory/shared_memory_test_support.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

class SharedMemoryTensorsTest : public ::testing::Test {
 protected:
  SharedMemoryTensorsTest() : object_("tensors", 256) {
    std::memcpy(object_.data() + 8, "abcdefgh", 8);
    EXPECT_TRUE(registry_.Register({"in", object_.key(), 0, 128}).ok());
    EXPECT_TRUE(registry_.Register({"out", object_.key(), 128, 128}).ok());
  }

  static void Set(google::protobuf::Map<std::string, inference::InferParameter>* parameters,
                  const std::string& region, int64_t byte_size, int64_t offset = -1) {
    (*parameters)["shared_memory_region"].set_string_param(region);
    (*parameters)["shared_memory_byte_size"].set_int64_param(byte_size);
    if (offset >= 0) (*parameters)["shared_memory_offset"].set_uint64_param(offset);
  }

  std::string Error(const inference::ModelInferRequest& message) {
    absl::StatusOr<SharedMemoryTensors> lent = LendSharedMemory(message, registry_);
    EXPECT_FALSE(lent.ok());
    EXPECT_EQ(lent.status().code() == absl::StatusCode::kInvalidArgument ||
                  lent.status().code() == absl::StatusCode::kNotFound,
              true)
        << lent.status();
    return std::string(lent.status().message());
  }

  TestSharedMemory object_;
  SharedMemoryRegistry registry_;
};

TEST_F(SharedMemoryTensorsTest, RequestWithoutRegionsLendsNothing) {
  inference::ModelInferRequest message;
  message.add_inputs()->set_name("X");
  message.add_outputs()->set_name("Y");
  absl::StatusOr<SharedMemoryTensors> lent = LendSharedMemory(message, registry_);
  ASSERT_TRUE(lent.ok()) << lent.status();
  EXPECT_TRUE(lent->empty());
  ASSERT_EQ(lent->inputs.size(), 1u);
  EXPECT_FALSE(lent->inputs[0].has_value());
}

TEST_F(SharedMemoryTensorsTest, InputsAndOutputsResolveToTheirRegions) {
  inference::ModelInferRequest message;
  message.add_inputs()->set_name("plain");
  auto* shared = message.add_inputs();
  shared->set_name("shared");
  Set(shared->mutable_parameters(), "in", 8, 8);
  auto* output = message.add_outputs();
  output->set_name("Y");
  Set(output->mutable_parameters(), "out", 64);
  absl::StatusOr<SharedMemoryTensors> lent = LendSharedMemory(message, registry_);
  ASSERT_TRUE(lent.ok()) << lent.status();
  EXPECT_FALSE(lent->inputs[0].has_value());
  ASSERT_TRUE(lent->inputs[1].has_value());
  EXPECT_EQ(*lent->inputs[1], "abcdefgh");
  ASSERT_EQ(lent->outputs.count("Y"), 1u);
  EXPECT_EQ(lent->outputs.at("Y").size(), 64u);
  // The registry maps the object itself: its writes land at the region's place in the object.
  std::memcpy(lent->outputs.at("Y").data(), "written", 7);
  EXPECT_EQ(std::string(object_.data() + 128, 7), "written");
}

TEST_F(SharedMemoryTensorsTest, MalformedParametersNameTheTensorAndParameter) {
  inference::ModelInferRequest message;
  auto* input = message.add_inputs();
  input->set_name("X");
  (*input->mutable_parameters())["shared_memory_region"].set_int64_param(3);
  EXPECT_THAT(Error(message), HasSubstr("input 'X': parameter 'shared_memory_region' must be a "
                                        "string"));

  input->mutable_parameters()->clear();
  (*input->mutable_parameters())["shared_memory_region"].set_string_param("in");
  EXPECT_THAT(Error(message), HasSubstr("input 'X': names shared-memory region 'in' but no "
                                        "'shared_memory_byte_size'"));

  Set(input->mutable_parameters(), "in", -4);
  EXPECT_THAT(Error(message), HasSubstr("'shared_memory_byte_size' must be a non-negative "
                                        "integer; was -4"));

  input->mutable_parameters()->clear();
  (*input->mutable_parameters())["shared_memory_byte_size"].set_int64_param(4);
  EXPECT_THAT(Error(message),
              HasSubstr("parameter 'shared_memory_byte_size' needs 'shared_memory_region' too"));

  Set(input->mutable_parameters(), "missing", 4);
  EXPECT_THAT(Error(message), HasSubstr("shared-memory region 'missing' is not registered"));

  Set(input->mutable_parameters(), "in", 8, 124);
  EXPECT_THAT(Error(message), HasSubstr("exceeds the 128 bytes of region 'in'"));
}

TEST_F(SharedMemoryTensorsTest, LeasesHoldTheRegions) {
  inference::ModelInferRequest message;
  auto* input = message.add_inputs();
  input->set_name("X");
  Set(input->mutable_parameters(), "in", 8);
  {
    absl::StatusOr<SharedMemoryTensors> lent = LendSharedMemory(message, registry_);
    ASSERT_TRUE(lent.ok());
    EXPECT_EQ(registry_.Unregister("in").code(), absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_TRUE(registry_.Unregister("in").ok());
}

}  // namespace
}  // namespace speech
