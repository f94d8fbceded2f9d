// The tensors of one inference request that live in system shared memory: Triton's tensor
// parameters "shared_memory_region", "shared_memory_byte_size" and "shared_memory_offset" read,
// checked and resolved to the registered regions' bytes, which stay lent for the request.
#ifndef SPEECH_SERVER_SHARED_MEMORY_SHARED_MEMORY_TENSORS_H_
#define SPEECH_SERVER_SHARED_MEMORY_SHARED_MEMORY_TENSORS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/grpc_service.pb.h"
#include "server/shared_memory/shared_memory_registry.h"

namespace speech {

// A plain value; what it lends stays mapped while it lives.
struct SharedMemoryTensors {
  // By position in the request's inputs: the input's bytes, when it names a region.
  std::vector<std::optional<absl::string_view>> inputs;
  // By output name: where the output is to be written, when it names a region.
  std::map<std::string, SharedMemoryRegistry::Lease> outputs;
  // Holds the inputs' regions.
  std::vector<SharedMemoryRegistry::Lease> input_leases;

  bool empty() const { return input_leases.empty() && outputs.empty(); }
};

// Lends every region `message`'s inputs and requested outputs name. INVALID_ARGUMENT, naming the
// tensor and the parameter, for a region name that is not a string, a missing or negative byte
// size, or a negative offset; the registry's NOT_FOUND / INVALID_ARGUMENT for a region that is
// not registered or too small. A request that names no region lends nothing.
absl::StatusOr<SharedMemoryTensors> LendSharedMemory(const inference::ModelInferRequest& message,
                                                     const SharedMemoryRegistry& registry);

}  // namespace speech

#endif  // SPEECH_SERVER_SHARED_MEMORY_SHARED_MEMORY_TENSORS_H_
