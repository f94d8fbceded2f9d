#include "models/torch/process/heap_release.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/harness/sanitizer.h"

namespace speech {
namespace {

constexpr bool kGlibcMalloc = !kUnderSanitizer;  // else the sanitizer's allocator serves malloc

// First in this file: no other test's thread may have made an arena before it.
TEST(HeapReleaseTest, WithOneArenaANewThreadAllocatesFromTheMainHeap) {
  if (!kGlibcMalloc) GTEST_SKIP() << "malloc is not glibc's under a sanitizer";
  ASSERT_TRUE(LimitMallocArenas(1));
  // The main arena grows with brk, below the program break; any other arena is an mmapped heap
  // far above it.
  const uintptr_t program_break = reinterpret_cast<uintptr_t>(sbrk(0));
  uintptr_t address = 0;
  std::thread([&address] {
    void* block = std::malloc(256);
    address = reinterpret_cast<uintptr_t>(block);
    std::free(block);
  }).join();
  EXPECT_LT(address, program_break + (64 << 20)) << "the thread's block is not in the main heap";
}

TEST(HeapReleaseTest, FreedPagesInTheMiddleOfTheHeapGoBackToTheKernel) {
  if (!kGlibcMalloc) GTEST_SKIP() << "malloc is not glibc's under a sanitizer";
  // 64 MiB in blocks below the mmap threshold, each touched, then all freed but a small block
  // allocated after them, so the heap's top cannot shrink and only malloc_trim's madvise of free
  // pages can return them.
  constexpr size_t kBlock = 64 << 10;
  constexpr int kBlocks = 1024;
  std::vector<char*> blocks;
  for (int i = 0; i < kBlocks; ++i) {
    blocks.push_back(static_cast<char*>(std::malloc(kBlock)));
    std::memset(blocks.back(), 1, kBlock);
  }
  char* pin = static_cast<char*>(std::malloc(64));
  *pin = 1;
  for (char* block : blocks) std::free(block);
  const int64_t released = ReleaseFreeHeapPages();
  std::free(pin);
  EXPECT_GT(released, int64_t{kBlock} * kBlocks / 2) << "released " << released << " bytes";
}

TEST(HeapReleaseTest, ReleaserRunsPeriodicallyAndStopsWhenDestroyed) {
  HeapReleaser releaser(absl::Milliseconds(5));
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (releaser.releases() < 3 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_GE(releaser.releases(), 3);
  EXPECT_GE(releaser.released_bytes(), 0);
}

TEST(HeapReleaseTest, DestroyingALongIntervalReleaserDoesNotWaitForIt) {
  const absl::Time start = absl::Now();
  { HeapReleaser releaser(absl::Hours(1)); }
  EXPECT_LT(absl::Now() - start, absl::Minutes(1));
  // (The bound only tells a wait for the interval apart from none.)
}

// Minor page faults of this process so far.
int64_t MinorFaults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// Faults from allocating `bytes`, touching every page, and freeing it.
int64_t FaultsOfOneBlock(size_t bytes) {
  const int64_t before = MinorFaults();
  char* block = static_cast<char*>(std::malloc(bytes));
  std::memset(block, 1, bytes);
  asm volatile("" : : "r"(block) : "memory");  // the stores must happen
  std::free(block);
  return MinorFaults() - before;
}

// Last in this file: it changes the thresholds for the whole process. A 48 MiB block is above
// the largest threshold glibc moves to by itself (32 MiB), so without fixed thresholds every such
// block is mapped afresh and faults in page by page; with them the second block reuses the
// first's pages.
TEST(HeapReleaseTest, WithFixedThresholdsALargeBlockReusesFreedPages) {
  if (!kGlibcMalloc) GTEST_SKIP() << "malloc is not glibc's under a sanitizer";
  constexpr size_t kBytes = 48 << 20;
  const int64_t pages = kBytes / sysconf(_SC_PAGESIZE);
  EXPECT_GT(FaultsOfOneBlock(kBytes), pages / 2) << "glibc's own thresholds: mapped afresh";
  ASSERT_TRUE(FixMallocThresholds(int64_t{256} << 20));
  FaultsOfOneBlock(kBytes);  // the heap grows once
  EXPECT_LT(FaultsOfOneBlock(kBytes), pages / 10) << "fixed thresholds: the freed pages reused";
}

}  // namespace
}  // namespace speech
