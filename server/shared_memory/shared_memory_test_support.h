// A POSIX shared-memory object made by a test, as a client on the same host makes one
// (shm_open + ftruncate + mmap), and removed (shm_unlink) when the test is done; and the
// parameters by which a request's tensor names a region. Test-only.
#ifndef SPEECH_SERVER_SHARED_MEMORY_SHARED_MEMORY_TEST_SUPPORT_H_
#define SPEECH_SERVER_SHARED_MEMORY_SHARED_MEMORY_TEST_SUPPORT_H_

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// Not thread-safe; the bytes it maps may be shared with a server in another process.
class TestSharedMemory {
 public:
  // Creates `/<prefix>_<pid>` of `byte_size` zero bytes; aborts if the system refuses.
  TestSharedMemory(const std::string& prefix, size_t byte_size)
      : key_(absl::StrCat("/", prefix, "_", getpid())), size_(byte_size) {
    shm_unlink(key_.c_str());
    const int fd = shm_open(key_.c_str(), O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ftruncate(fd, static_cast<off_t>(byte_size)) != 0) std::abort();
    void* address = mmap(nullptr, byte_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (address == MAP_FAILED) std::abort();
    data_ = static_cast<char*>(address);
  }
  ~TestSharedMemory() {
    munmap(data_, size_);
    shm_unlink(key_.c_str());
  }
  TestSharedMemory(const TestSharedMemory&) = delete;
  TestSharedMemory& operator=(const TestSharedMemory&) = delete;

  const std::string& key() const { return key_; }
  char* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const std::string key_;
  const size_t size_;
  char* data_ = nullptr;
};

// Makes the tensor whose `parameters` these are read from (an input) or be written to (an
// output) `byte_size` bytes of `region` at `offset`, as Triton's clients ask for it.
inline void SetSharedMemoryRegion(
    google::protobuf::Map<std::string, inference::InferParameter>* parameters,
    const std::string& region, int64_t byte_size, int64_t offset = 0) {
  (*parameters)["shared_memory_region"].set_string_param(region);
  (*parameters)["shared_memory_byte_size"].set_int64_param(byte_size);
  if (offset != 0) (*parameters)["shared_memory_offset"].set_int64_param(offset);
}

}  // namespace speech

#endif  // SPEECH_SERVER_SHARED_MEMORY_SHARED_MEMORY_TEST_SUPPORT_H_
