#include "models/instance_plan.h"

#include <google/protobuf/text_format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

inference::ModelConfig Config(const std::string& text) {
  inference::ModelConfig config;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &config)) << text;
  config.set_name("m");
  return config;
}

std::vector<std::string> Devices(const std::vector<InstancePlacement>& placements) {
  std::vector<std::string> devices;
  for (const InstancePlacement& placement : placements) devices.push_back(placement.device);
  return devices;
}

TEST(PlanInstancesTest, NoGroupMeansOneInstance) {
  auto plan = PlanInstances(Config(""), /*visible_gpus=*/0);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(Devices(*plan), ::testing::ElementsAre("cpu"));
}

TEST(PlanInstancesTest, CpuCountInstances) {
  auto plan = PlanInstances(Config("instance_group { count: 3 kind: KIND_CPU }"), 2);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(Devices(*plan), ::testing::ElementsAre("cpu", "cpu", "cpu"));
  EXPECT_EQ((*plan)[2].name, "m_0_2");
  for (const InstancePlacement& placement : *plan) EXPECT_EQ(placement.model_instances, 3);
}

TEST(PlanInstancesTest, GpuCountPerListedGpu) {
  auto plan = PlanInstances(Config("instance_group { count: 2 kind: KIND_GPU gpus: [1, 3] }"), 4);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(Devices(*plan), ::testing::ElementsAre("cuda:1", "cuda:1", "cuda:3", "cuda:3"));
  EXPECT_EQ((*plan)[3].name, "m_0_1_gpu3");
  EXPECT_EQ((*plan)[0].model_instances, 4);
}

TEST(PlanInstancesTest, GpuWithoutListUsesEveryVisibleGpu) {
  auto plan = PlanInstances(Config("instance_group { count: 1 kind: KIND_GPU }"), 2);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_THAT(Devices(*plan), ::testing::ElementsAre("cuda:0", "cuda:1"));
}

TEST(PlanInstancesTest, AutoFollowsWhatIsVisible) {
  auto gpu = PlanInstances(Config("instance_group { count: 1 }"), 1);
  ASSERT_TRUE(gpu.ok());
  EXPECT_THAT(Devices(*gpu), ::testing::ElementsAre("cuda:0"));
  auto cpu = PlanInstances(Config("instance_group { count: 1 }"), 0);
  ASSERT_TRUE(cpu.ok());
  EXPECT_THAT(Devices(*cpu), ::testing::ElementsAre("cpu"));
}

TEST(PlanInstancesTest, Errors) {
  EXPECT_THAT(std::string(PlanInstances(Config("instance_group { count: 1 kind: KIND_GPU }"), 0)
                              .status()
                              .message()),
              HasSubstr("asks for KIND_GPU but no GPU is visible"));
  EXPECT_THAT(
      std::string(PlanInstances(Config("instance_group { kind: KIND_GPU gpus: 2 count: 1 }"), 2)
                      .status()
                      .message()),
      HasSubstr("lists GPU 2 but 2 GPUs are visible"));
  EXPECT_THAT(std::string(PlanInstances(Config("instance_group { count: 0 kind: KIND_CPU }"), 0)
                              .status()
                              .message()),
              HasSubstr("count must be at least 1; was 0"));
  EXPECT_THAT(std::string(PlanInstances(Config("instance_group { count: 1 kind: KIND_MODEL }"), 0)
                              .status()
                              .message()),
              HasSubstr("kind KIND_MODEL is not supported"));
}

}  // namespace
}  // namespace speech
