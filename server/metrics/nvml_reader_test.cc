#include "server/metrics/nvml_reader.h"

#include "gtest/gtest.h"

namespace speech {
namespace {

// Runs everywhere: on a host without NVIDIA's driver Open() must give nullptr (and no crash); on a
// GPU host every device must have a UUID and sane readings.
TEST(NvmlReaderTest, OpensOnlyWithDevicesAndReadsSaneValues) {
  std::unique_ptr<NvmlReader> nvml = NvmlReader::Open();
  if (nvml == nullptr) GTEST_SKIP() << "no NVML or no GPU on this host";
  ASSERT_GT(nvml->device_count(), 0);
  for (int i = 0; i < nvml->device_count(); ++i) {
    EXPECT_EQ(nvml->uuid(i).rfind("GPU-", 0), 0u) << nvml->uuid(i);
    std::optional<GpuReading> reading = nvml->Read(i);
    ASSERT_TRUE(reading.has_value());
    EXPECT_GE(reading->utilization, 0.0);
    EXPECT_LE(reading->utilization, 1.0);
    EXPECT_GT(reading->memory_total_bytes, 0u);
    EXPECT_LE(reading->memory_used_bytes, reading->memory_total_bytes);
  }
}

}  // namespace
}  // namespace speech
