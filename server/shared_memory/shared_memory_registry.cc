#include "server/shared_memory/shared_memory_registry.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace speech {

absl::Status SharedMemoryRegistry::Register(const Region& region) {
  if (region.name.empty()) return absl::InvalidArgumentError("a region needs a name");
  const std::string where = absl::StrCat("shared-memory region '", region.name, "'");
  if (region.key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": key (the shm_open name) is empty"));
  }
  if (region.byte_size == 0) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": byte_size must be positive; was 0"));
  }
  {
    absl::MutexLock lock(&mu_);
    if (regions_.count(region.name) > 0) {
      return absl::AlreadyExistsError(
          absl::StrCat(where, " is already registered; unregister it first to register it again"));
    }
  }
  const int fd = shm_open(region.key.c_str(), O_RDWR, 0);
  if (fd < 0) {
    return absl::NotFoundError(absl::StrCat(where, ": cannot open shared-memory object '",
                                            region.key, "': ", std::strerror(errno)));
  }
  struct stat info;
  if (fstat(fd, &info) != 0) {
    const std::string reason = std::strerror(errno);
    close(fd);
    return absl::InternalError(absl::StrCat(where, ": cannot stat '", region.key, "': ", reason));
  }
  const uint64_t object_size = static_cast<uint64_t>(info.st_size);
  if (region.offset > object_size || region.byte_size > object_size - region.offset) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": offset ", region.offset, " + byte_size ", region.byte_size, " exceeds the ",
        object_size, " bytes of shared-memory object '", region.key, "'"));
  }
  // mmap offsets are page-aligned: map from the page the region starts in.
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t map_offset = region.offset / page * page;
  const size_t map_length = static_cast<size_t>(region.offset - map_offset + region.byte_size);
  void* address = mmap(nullptr, map_length, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
                       static_cast<off_t>(map_offset));
  const int map_errno = errno;
  close(fd);  // the mapping keeps the object
  if (address == MAP_FAILED) {
    return absl::InternalError(
        absl::StrCat(where, ": cannot map '", region.key, "': ", std::strerror(map_errno)));
  }
  Mapped mapped;
  mapped.region = region;
  mapped.base = static_cast<char*>(address) + (region.offset - map_offset);
  mapped.mapping = std::shared_ptr<const void>(
      address, [map_length](const void* start) { munmap(const_cast<void*>(start), map_length); });
  absl::MutexLock lock(&mu_);
  if (!regions_.emplace(region.name, std::move(mapped)).second) {
    return absl::AlreadyExistsError(absl::StrCat(where, " is already registered"));
  }
  return absl::OkStatus();
}

absl::Status SharedMemoryRegistry::Unregister(const std::string& name) {
  std::vector<std::string> busy;
  absl::MutexLock lock(&mu_);
  if (!name.empty() && regions_.count(name) == 0) {
    return absl::NotFoundError(absl::StrCat("shared-memory region '", name, "' is not registered"));
  }
  for (auto it = regions_.begin(); it != regions_.end();) {
    if (!name.empty() && it->first != name) {
      ++it;
      continue;
    }
    // Leases are taken under mu_, so no new one can appear while this looks.
    if (it->second.mapping.use_count() > 1) {
      busy.push_back(it->first);
      ++it;
      continue;
    }
    it = regions_.erase(it);
  }
  if (!busy.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot unregister shared-memory region(s) '", absl::StrJoin(busy, "', '"),
                     "': in use by requests in flight; unregister once they complete"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<SharedMemoryRegistry::Region>> SharedMemoryRegistry::Status(
    const std::string& name) const {
  absl::MutexLock lock(&mu_);
  std::vector<Region> result;
  for (const auto& [region_name, mapped] : regions_) {
    if (name.empty() || region_name == name) result.push_back(mapped.region);
  }
  if (!name.empty() && result.empty()) {
    return absl::NotFoundError(absl::StrCat("shared-memory region '", name, "' is not registered"));
  }
  return result;
}

absl::StatusOr<SharedMemoryRegistry::Lease> SharedMemoryRegistry::Lend(
    const std::string& name, uint64_t offset, uint64_t byte_size, absl::string_view what) const {
  absl::MutexLock lock(&mu_);
  auto it = regions_.find(name);
  if (it == regions_.end()) {
    return absl::NotFoundError(
        absl::StrCat(what, ": shared-memory region '", name, "' is not registered"));
  }
  const Region& region = it->second.region;
  if (offset > region.byte_size || byte_size > region.byte_size - offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": shared_memory_offset ", offset, " + shared_memory_byte_size ", byte_size,
        " exceeds the ", region.byte_size, " bytes of region '", name, "'"));
  }
  Lease lease;
  lease.mapping_ = it->second.mapping;
  lease.data_ = it->second.base + offset;
  lease.size_ = static_cast<size_t>(byte_size);
  lease.region_ = name;
  return lease;
}

}  // namespace speech
