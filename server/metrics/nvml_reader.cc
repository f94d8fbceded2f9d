#include "server/metrics/nvml_reader.h"

#include <dlfcn.h>

#include <utility>

namespace speech {
namespace {

// The few NVML declarations we use (nvml.h is not needed at build time). Every NVML call returns
// an nvmlReturn_t, 0 meaning success.
using NvmlReturn = int;
using NvmlDevice = void*;
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr unsigned int kUuidBufferBytes = 96;  // NVML_DEVICE_UUID_V2_BUFFER_SIZE

struct NvmlUtilization {
  unsigned int gpu;     // percent
  unsigned int memory;  // percent
};
struct NvmlMemory {
  unsigned long long total;  // NOLINT(runtime/int): NVML's type
  unsigned long long free;   // NOLINT(runtime/int)
  unsigned long long used;   // NOLINT(runtime/int)
};

}  // namespace

struct NvmlReader::Api {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*device_count)(unsigned int*) = nullptr;
  NvmlReturn (*device_by_index)(unsigned int, NvmlDevice*) = nullptr;
  NvmlReturn (*device_uuid)(NvmlDevice, char*, unsigned int) = nullptr;
  NvmlReturn (*utilization)(NvmlDevice, NvmlUtilization*) = nullptr;
  NvmlReturn (*memory)(NvmlDevice, NvmlMemory*) = nullptr;
};

namespace {

template <typename Function>
bool Bind(void* library, const char* symbol, Function* function) {
  *function = reinterpret_cast<Function>(dlsym(library, symbol));
  return *function != nullptr;
}

}  // namespace

std::unique_ptr<NvmlReader> NvmlReader::Open() {
  void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) return nullptr;
  auto api = std::make_unique<Api>();
  const bool bound = Bind(library, "nvmlInit_v2", &api->init) &&
                     Bind(library, "nvmlShutdown", &api->shutdown) &&
                     Bind(library, "nvmlDeviceGetCount_v2", &api->device_count) &&
                     Bind(library, "nvmlDeviceGetHandleByIndex_v2", &api->device_by_index) &&
                     Bind(library, "nvmlDeviceGetUUID", &api->device_uuid) &&
                     Bind(library, "nvmlDeviceGetUtilizationRates", &api->utilization) &&
                     Bind(library, "nvmlDeviceGetMemoryInfo", &api->memory);
  if (!bound || api->init() != kNvmlSuccess) {
    dlclose(library);
    return nullptr;
  }
  // From here the destructor shuts NVML down and unloads it.
  std::unique_ptr<NvmlReader> reader(new NvmlReader(library, std::move(api)));
  unsigned int count = 0;
  if (reader->api_->device_count(&count) != kNvmlSuccess) return nullptr;
  for (unsigned int i = 0; i < count; ++i) {
    NvmlDevice device = nullptr;
    char uuid[kUuidBufferBytes] = {};
    if (reader->api_->device_by_index(i, &device) != kNvmlSuccess ||
        reader->api_->device_uuid(device, uuid, kUuidBufferBytes) != kNvmlSuccess) {
      continue;  // a device we cannot name is one we cannot report
    }
    reader->devices_.push_back(device);
    reader->uuids_.emplace_back(uuid);
  }
  if (reader->devices_.empty()) return nullptr;
  return reader;
}

NvmlReader::NvmlReader(void* library, std::unique_ptr<Api> api)
    : library_(library), api_(std::move(api)) {}

NvmlReader::~NvmlReader() {
  api_->shutdown();
  dlclose(library_);
}

std::optional<GpuReading> NvmlReader::Read(int index) const {
  NvmlUtilization utilization{};
  NvmlMemory memory{};
  if (api_->utilization(devices_[index], &utilization) != kNvmlSuccess ||
      api_->memory(devices_[index], &memory) != kNvmlSuccess) {
    return std::nullopt;
  }
  GpuReading reading;
  reading.utilization = utilization.gpu / 100.0;
  reading.memory_total_bytes = memory.total;
  reading.memory_used_bytes = memory.used;
  return reading;
}

}  // namespace speech
