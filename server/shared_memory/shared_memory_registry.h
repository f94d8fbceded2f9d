// Triton's system shared-memory extension: clients on the same host register part of a POSIX
// shared-memory object (shm_open) as a named region, then name the region in a tensor's
// parameters instead of sending its bytes; the server reads inputs from it and writes outputs
// into it. A region is mapped once, at registration, and lent to each request that names it.
#ifndef SPEECH_SERVER_SHARED_MEMORY_SHARED_MEMORY_REGISTRY_H_
#define SPEECH_SERVER_SHARED_MEMORY_SHARED_MEMORY_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace speech {

// Thread-safe. Regions stay mapped while any request holds a lease on them, even unregistered.
class SharedMemoryRegistry {
 public:
  struct Region {
    std::string name;        // how tensors name it
    std::string key;         // the shared-memory object's shm_open name, e.g. "/input_audio"
    uint64_t offset = 0;     // where the region starts in the object
    uint64_t byte_size = 0;  // its length
  };

  // Part of a region lent to one request; the mapping stays valid while the lease lives.
  class Lease {
   public:
    char* data() const { return data_; }
    size_t size() const { return size_; }
    const std::string& region() const { return region_; }

   private:
    friend class SharedMemoryRegistry;
    std::shared_ptr<const void> mapping_;
    char* data_ = nullptr;
    size_t size_ = 0;
    std::string region_;
  };

  SharedMemoryRegistry() = default;
  SharedMemoryRegistry(const SharedMemoryRegistry&) = delete;
  SharedMemoryRegistry& operator=(const SharedMemoryRegistry&) = delete;

  // Opens and maps `region`. INVALID_ARGUMENT for an empty name or key, a zero byte_size, or a
  // region that does not fit the object (naming offset, byte_size and the object's size);
  // NOT_FOUND when the object cannot be opened (with the system's reason); ALREADY_EXISTS when
  // the name is taken.
  absl::Status Register(const Region& region);

  // Unregisters region `name`, or every region when `name` is empty. NOT_FOUND for an unknown
  // name; FAILED_PRECONDITION, naming the regions, when requests in flight still use them
  // (those stay registered; with an empty name the others are unregistered).
  absl::Status Unregister(const std::string& name);

  // Region `name`, or every region (in name order) when `name` is empty. NOT_FOUND for an
  // unknown name.
  absl::StatusOr<std::vector<Region>> Status(const std::string& name) const;

  // The `byte_size` bytes at `offset` in region `name`, for the tensor `what` (named in errors).
  // NOT_FOUND for an unknown region; INVALID_ARGUMENT when they do not lie within it.
  absl::StatusOr<Lease> Lend(const std::string& name, uint64_t offset, uint64_t byte_size,
                             absl::string_view what) const;

 private:
  struct Mapped {
    Region region;
    std::shared_ptr<const void> mapping;  // unmaps when the last holder lets go
    char* base = nullptr;                 // the region's first byte
  };

  mutable absl::Mutex mu_;
  std::map<std::string, Mapped> regions_ ABSL_GUARDED_BY(mu_);
};

}  // namespace speech

#endif  // SPEECH_SERVER_SHARED_MEMORY_SHARED_MEMORY_REGISTRY_H_
