#include "models/torch/process/heap_release.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <limits>

namespace speech {
namespace {

// Resident bytes of this process (the second field of /proc/self/statm, in pages); 0 if unknown.
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0;
  int64_t resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

bool LimitMallocArenas(int arenas) { return mallopt(M_ARENA_MAX, arenas) == 1; }

bool FixMallocThresholds(int64_t bytes) {
  const int value = static_cast<int>(std::min<int64_t>(bytes, std::numeric_limits<int>::max()));
  return mallopt(M_MMAP_THRESHOLD, value) == 1 && mallopt(M_TRIM_THRESHOLD, value) == 1;
}

int64_t ReleaseFreeHeapPages() {
  const int64_t before = ResidentBytes();
  malloc_trim(0);
  const int64_t after = ResidentBytes();
  return before > after && after > 0 ? before - after : 0;
}

HeapReleaser::HeapReleaser(absl::Duration interval)
    : interval_(interval), thread_([this] { Loop(); }) {}

HeapReleaser::~HeapReleaser() {
  {
    absl::MutexLock lock(&mutex_);
    stopping_ = true;
  }
  thread_.join();
}

int64_t HeapReleaser::releases() const {
  absl::MutexLock lock(&mutex_);
  return releases_;
}

int64_t HeapReleaser::released_bytes() const {
  absl::MutexLock lock(&mutex_);
  return released_bytes_;
}

void HeapReleaser::Loop() {
  absl::MutexLock lock(&mutex_);
  while (!mutex_.AwaitWithTimeout(absl::Condition(&stopping_), interval_)) {
    mutex_.Unlock();
    const int64_t released = ReleaseFreeHeapPages();
    mutex_.Lock();
    ++releases_;
    released_bytes_ += released;
  }
}

}  // namespace speech
