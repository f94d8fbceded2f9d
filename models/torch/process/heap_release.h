// Gives the pages that LibTorch's CPU tensors have freed back to the kernel, periodically.
//
// LibTorch allocates CPU tensors with malloc. Tensors of many sizes (every batch of speech has
// other lengths) fragment glibc's heaps: freed memory stays resident and the resident size creeps
// up for minutes (BENCHMARKS.md, "Soak": +17% in 5 minutes, 530 MB held for 184 MB in use).
// malloc_trim(0) returns every free page in every arena (madvise), so the resident size follows
// what is in use. Its cost is the page faults of the memory reused after it: measured on the tiny
// models, one trim every ~2 s cost 7-20% of the work, every ~8 s nothing measurable.
//
// Between two trims the heaps grow again by what is freed and reused. With glibc's default of up
// to 8 arenas per core, each thread (gRPC, HTTP, instances) spreads that over its own arena and
// the peak grew by a sixth in a 40 s soak test; with 2 arenas by 3% and 9% in two such runs.
#ifndef SPEECH_MODELS_TORCH_PROCESS_HEAP_RELEASE_H_
#define SPEECH_MODELS_TORCH_PROCESS_HEAP_RELEASE_H_

#include <cstdint>
#include <memory>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace speech {

// Caps the number of glibc malloc arenas at `arenas` (mallopt M_ARENA_MAX); false if refused.
// Only threads that allocate for the first time afterwards are held to it, so call it before
// the process starts threads. REQUIRES: arenas > 0.
bool LimitMallocArenas(int arenas);

// Serves allocations below `bytes` from the heap instead of mapping fresh pages for each, and
// keeps memory freed at the heap's top there (mallopt M_MMAP_THRESHOLD and M_TRIM_THRESHOLD at
// `bytes`; glibc's own threshold moves with what was freed, so whether a batch's large tensors
// got fresh, page-faulting memory depended on the process's history). Returning the memory is
// then up to ReleaseFreeHeapPages. False if refused. Values above
// INT_MAX (mallopt takes an int) count as INT_MAX. REQUIRES: bytes > 0.
bool FixMallocThresholds(int64_t bytes);

// Returns free heap pages to the kernel now; the bytes released, from the resident size before
// and after (0 when it did not fall or /proc/self/statm is unreadable).
int64_t ReleaseFreeHeapPages();

// A thread that calls ReleaseFreeHeapPages every `interval` until destroyed.
class HeapReleaser {
 public:
  // REQUIRES: interval > 0.
  explicit HeapReleaser(absl::Duration interval);
  ~HeapReleaser();  // stops and joins the thread (at most one release in progress)

  HeapReleaser(const HeapReleaser&) = delete;
  HeapReleaser& operator=(const HeapReleaser&) = delete;

  // Releases done so far and the bytes they returned.
  int64_t releases() const;
  int64_t released_bytes() const;

 private:
  void Loop();

  const absl::Duration interval_;
  mutable absl::Mutex mutex_;
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  int64_t releases_ ABSL_GUARDED_BY(mutex_) = 0;
  int64_t released_bytes_ ABSL_GUARDED_BY(mutex_) = 0;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_PROCESS_HEAP_RELEASE_H_
