// GPU utilisation and memory through NVML, loaded at run time with dlopen("libnvidia-ml.so.1"),
// so that the server builds and runs on hosts without NVIDIA's driver (and then has no GPU).
#ifndef SPEECH_SERVER_METRICS_NVML_READER_H_
#define SPEECH_SERVER_METRICS_NVML_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace speech {

struct GpuReading {
  double utilization = 0;  // fraction of the last sample period a kernel ran, in [0, 1]
  uint64_t memory_total_bytes = 0;
  uint64_t memory_used_bytes = 0;
};

// Thread-safe (NVML is). Owns the library handle: NVML is shut down and unloaded on destruction.
class NvmlReader {
 public:
  // Loads and initialises NVML and lists its devices; nullptr when the library is missing, its
  // initialisation fails (no driver) or it sees no device.
  static std::unique_ptr<NvmlReader> Open();

  ~NvmlReader();
  NvmlReader(const NvmlReader&) = delete;
  NvmlReader& operator=(const NvmlReader&) = delete;

  // Devices in NVML's order; each identified by its UUID ("GPU-...").
  int device_count() const { return static_cast<int>(devices_.size()); }
  const std::string& uuid(int index) const { return uuids_[index]; }

  // The device's current reading; nullopt when NVML fails to answer (e.g. the GPU fell off the
  // bus). REQUIRES: 0 <= index < device_count().
  std::optional<GpuReading> Read(int index) const;

 private:
  struct Api;
  NvmlReader(void* library, std::unique_ptr<Api> api);

  // Constant after construction.
  void* const library_;
  const std::unique_ptr<Api> api_;
  std::vector<void*> devices_;  // nvmlDevice_t handles
  std::vector<std::string> uuids_;
};

}  // namespace speech

#endif  // SPEECH_SERVER_METRICS_NVML_READER_H_
