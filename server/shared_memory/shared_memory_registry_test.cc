// Registering, looking up, lending and unregistering system shared-memory regions, on real POSIX
// shared-memory objects.
#include "server/shared_memory/shared_memory_registry.h"

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/shared_memory/shared_memory_test_support.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

MATCHER_P2(StatusIs, code, substring, "") {
  *result_listener << "status is " << arg;
  return arg.code() == code && std::string(arg.message()).find(substring) != std::string::npos;
}

TEST(SharedMemoryRegistryTest, RegisteredRegionIsLentInPlace) {
  TestSharedMemory object("registry_lend", 8192);
  SharedMemoryRegistry registry;
  // A region that starts inside the second page: the mapping must still land on its bytes.
  ASSERT_TRUE(registry.Register({"audio", object.key(), 4100, 1000}).ok());
  std::memcpy(object.data() + 4100 + 10, "hello", 5);

  absl::StatusOr<SharedMemoryRegistry::Lease> lease = registry.Lend("audio", 10, 5, "input 'x'");
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(std::string(lease->data(), lease->size()), "hello");
  EXPECT_EQ(lease->region(), "audio");
  // Writes reach the client's mapping.
  std::memcpy(lease->data(), "HELLO", 5);
  EXPECT_EQ(std::string(object.data() + 4110, 5), "HELLO");

  absl::StatusOr<std::vector<SharedMemoryRegistry::Region>> status = registry.Status("");
  ASSERT_TRUE(status.ok());
  ASSERT_EQ(status->size(), 1u);
  EXPECT_EQ((*status)[0].key, object.key());
  EXPECT_EQ((*status)[0].offset, 4100u);
  EXPECT_EQ((*status)[0].byte_size, 1000u);
}

TEST(SharedMemoryRegistryTest, BadRegistrationsNameTheProblem) {
  TestSharedMemory object("registry_bad", 64);
  SharedMemoryRegistry registry;
  EXPECT_THAT(registry.Register({"", object.key(), 0, 8}),
              StatusIs(absl::StatusCode::kInvalidArgument, "needs a name"));
  EXPECT_THAT(registry.Register({"r", "", 0, 8}),
              StatusIs(absl::StatusCode::kInvalidArgument, "key"));
  EXPECT_THAT(registry.Register({"r", object.key(), 0, 0}),
              StatusIs(absl::StatusCode::kInvalidArgument, "byte_size must be positive"));
  EXPECT_THAT(registry.Register({"r", "/no_such_object_here", 0, 8}),
              StatusIs(absl::StatusCode::kNotFound,
                       "cannot open shared-memory object '/no_such_object_here'"));
  EXPECT_THAT(
      registry.Register({"r", object.key(), 60, 8}),
      StatusIs(absl::StatusCode::kInvalidArgument, "offset 60 + byte_size 8 exceeds the 64 bytes"));
  EXPECT_THAT(registry.Register({"r", object.key(), 65, 1}),
              StatusIs(absl::StatusCode::kInvalidArgument, "exceeds"));
  ASSERT_TRUE(registry.Register({"r", object.key(), 0, 64}).ok());
  EXPECT_THAT(registry.Register({"r", object.key(), 0, 8}),
              StatusIs(absl::StatusCode::kAlreadyExists, "already registered"));
}

TEST(SharedMemoryRegistryTest, LendingChecksTheRegionsBounds) {
  TestSharedMemory object("registry_bounds", 64);
  SharedMemoryRegistry registry;
  ASSERT_TRUE(registry.Register({"r", object.key(), 16, 32}).ok());
  EXPECT_TRUE(registry.Lend("r", 0, 32, "input 'x'").ok());
  EXPECT_TRUE(registry.Lend("r", 32, 0, "input 'x'").ok());
  EXPECT_THAT(registry.Lend("r", 8, 32, "input 'x'").status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "input 'x': shared_memory_offset 8 + shared_memory_byte_size 32 exceeds "
                       "the 32 bytes of region 'r'"));
  EXPECT_THAT(registry.Lend("r", 33, 0, "output 'y'").status(),
              StatusIs(absl::StatusCode::kInvalidArgument, "output 'y'"));
  EXPECT_THAT(registry.Lend("other", 0, 1, "input 'x'").status(),
              StatusIs(absl::StatusCode::kNotFound,
                       "input 'x': shared-memory region 'other' is not registered"));
}

TEST(SharedMemoryRegistryTest, RegionInUseCannotBeUnregistered) {
  TestSharedMemory object("registry_busy", 64);
  SharedMemoryRegistry registry;
  ASSERT_TRUE(registry.Register({"busy", object.key(), 0, 64}).ok());
  ASSERT_TRUE(registry.Register({"idle", object.key(), 0, 64}).ok());
  {
    absl::StatusOr<SharedMemoryRegistry::Lease> lease = registry.Lend("busy", 0, 8, "input 'x'");
    ASSERT_TRUE(lease.ok());
    EXPECT_THAT(registry.Unregister("busy"),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         "cannot unregister shared-memory region(s) 'busy': in use"));
    // Unregistering all takes the idle one and reports the busy one.
    EXPECT_THAT(registry.Unregister(""), StatusIs(absl::StatusCode::kFailedPrecondition, "'busy'"));
    absl::StatusOr<std::vector<SharedMemoryRegistry::Region>> left = registry.Status("");
    ASSERT_TRUE(left.ok());
    ASSERT_EQ(left->size(), 1u);
    EXPECT_EQ((*left)[0].name, "busy");
  }
  EXPECT_TRUE(registry.Unregister("busy").ok());
  EXPECT_THAT(registry.Unregister("busy"),
              StatusIs(absl::StatusCode::kNotFound, "'busy' is not registered"));
  EXPECT_THAT(registry.Status("busy").status(), StatusIs(absl::StatusCode::kNotFound, "busy"));
  EXPECT_TRUE(registry.Unregister("").ok());  // nothing left: fine
}

TEST(SharedMemoryRegistryTest, LeaseOutlivesUnregisteringAll) {
  TestSharedMemory object("registry_outlive", 64);
  std::memcpy(object.data(), "kept", 4);
  SharedMemoryRegistry registry;
  ASSERT_TRUE(registry.Register({"r", object.key(), 0, 64}).ok());
  absl::StatusOr<SharedMemoryRegistry::Lease> lease = registry.Lend("r", 0, 4, "input 'x'");
  ASSERT_TRUE(lease.ok());
  registry.Unregister("").IgnoreError();  // refused: in use
  EXPECT_EQ(std::string(lease->data(), 4), "kept");
}

}  // namespace
}  // namespace speech
