#include "server/shared_memory/shared_memory_tensors.h"

#include "absl/strings/str_cat.h"

namespace speech {
namespace {

using Parameters = google::protobuf::Map<std::string, inference::InferParameter>;

constexpr char kRegion[] = "shared_memory_region";
constexpr char kByteSize[] = "shared_memory_byte_size";
constexpr char kOffset[] = "shared_memory_offset";

struct Reference {
  std::string region;
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

// A non-negative integer parameter (int64 or uint64, as clients send either).
absl::StatusOr<uint64_t> Count(const inference::InferParameter& value, absl::string_view what,
                               absl::string_view key) {
  if (value.has_uint64_param()) return value.uint64_param();
  if (value.has_int64_param() && value.int64_param() >= 0) {
    return static_cast<uint64_t>(value.int64_param());
  }
  return absl::InvalidArgumentError(
      absl::StrCat(what, ": parameter '", key, "' must be a non-negative integer",
                   value.has_int64_param() ? absl::StrCat("; was ", value.int64_param()) : ""));
}

// Where `parameters` say a tensor's bytes are; nullopt when they name no region.
absl::StatusOr<std::optional<Reference>> ReferenceOf(const Parameters& parameters,
                                                     absl::string_view what) {
  auto region = parameters.find(kRegion);
  if (region == parameters.end()) {
    for (const char* key : {kByteSize, kOffset}) {
      if (parameters.count(key) > 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(what, ": parameter '", key, "' needs '", kRegion, "' too"));
      }
    }
    return std::optional<Reference>();
  }
  if (!region->second.has_string_param()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": parameter '", kRegion, "' must be a string (the region's name)"));
  }
  Reference reference;
  reference.region = region->second.string_param();
  auto size = parameters.find(kByteSize);
  if (size == parameters.end()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": names shared-memory region '",
                                                   reference.region, "' but no '", kByteSize, "'"));
  }
  absl::StatusOr<uint64_t> byte_size = Count(size->second, what, kByteSize);
  if (!byte_size.ok()) return byte_size.status();
  reference.byte_size = *byte_size;
  if (auto offset = parameters.find(kOffset); offset != parameters.end()) {
    absl::StatusOr<uint64_t> value = Count(offset->second, what, kOffset);
    if (!value.ok()) return value.status();
    reference.offset = *value;
  }
  return std::optional<Reference>(std::move(reference));
}

}  // namespace

absl::StatusOr<SharedMemoryTensors> LendSharedMemory(const inference::ModelInferRequest& message,
                                                     const SharedMemoryRegistry& registry) {
  SharedMemoryTensors tensors;
  tensors.inputs.resize(message.inputs_size());
  for (int i = 0; i < message.inputs_size(); ++i) {
    const auto& input = message.inputs(i);
    const std::string what = absl::StrCat("input '", input.name(), "'");
    absl::StatusOr<std::optional<Reference>> reference = ReferenceOf(input.parameters(), what);
    if (!reference.ok()) return reference.status();
    if (!reference->has_value()) continue;
    const Reference& ref = **reference;
    absl::StatusOr<SharedMemoryRegistry::Lease> lease =
        registry.Lend(ref.region, ref.offset, ref.byte_size, what);
    if (!lease.ok()) return lease.status();
    tensors.inputs[i] = absl::string_view(lease->data(), lease->size());
    tensors.input_leases.push_back(*std::move(lease));
  }
  for (const auto& output : message.outputs()) {
    const std::string what = absl::StrCat("output '", output.name(), "'");
    absl::StatusOr<std::optional<Reference>> reference = ReferenceOf(output.parameters(), what);
    if (!reference.ok()) return reference.status();
    if (!reference->has_value()) continue;
    const Reference& ref = **reference;
    absl::StatusOr<SharedMemoryRegistry::Lease> lease =
        registry.Lend(ref.region, ref.offset, ref.byte_size, what);
    if (!lease.ok()) return lease.status();
    tensors.outputs[output.name()] = *std::move(lease);
  }
  return tensors;
}

}  // namespace speech
