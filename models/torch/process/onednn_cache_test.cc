#include "models/torch/process/onednn_cache.h"

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace speech {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "(unset)" : value;
}

class OneDnnCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY");
    unsetenv("DNNL_PRIMITIVE_CACHE_CAPACITY");
  }
  void TearDown() override { SetUp(); }
};

TEST_F(OneDnnCacheTest, SetsTheCapacityWhenTheEnvironmentNamesNone) {
  EXPECT_TRUE(SetOneDnnPrimitiveCacheCapacity(8192));
  EXPECT_EQ(Env("ONEDNN_PRIMITIVE_CACHE_CAPACITY"), "8192");
}

TEST_F(OneDnnCacheTest, TheUsersSettingWinsUnderEitherName) {
  setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "100", 1);
  EXPECT_FALSE(SetOneDnnPrimitiveCacheCapacity(8192));
  EXPECT_EQ(Env("ONEDNN_PRIMITIVE_CACHE_CAPACITY"), "100");
  unsetenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY");
  setenv("DNNL_PRIMITIVE_CACHE_CAPACITY", "200", 1);
  EXPECT_FALSE(SetOneDnnPrimitiveCacheCapacity(8192));
  EXPECT_EQ(Env("ONEDNN_PRIMITIVE_CACHE_CAPACITY"), "(unset)");
}

TEST_F(OneDnnCacheTest, ZeroLeavesOneDnnItsOwnDefault) {
  EXPECT_FALSE(SetOneDnnPrimitiveCacheCapacity(0));
  EXPECT_EQ(Env("ONEDNN_PRIMITIVE_CACHE_CAPACITY"), "(unset)");
}

}  // namespace
}  // namespace speech
