// The bodies of the KServe v2 REST control requests, as Triton reads them: the repository index
// request ({"ready": true}), the load and unload requests ({"parameters": {"config": "...",
// "unload_dependents": true}}) and the shared-memory register request ({"key": "/name",
// "offset": 0, "byte_size": N}); an empty body is an empty request. And the shared-memory status
// reply, a list of regions.
#ifndef SPEECH_SERVER_HTTP_JSON_CONTROL_JSON_H_
#define SPEECH_SERVER_HTTP_JSON_CONTROL_JSON_H_

#include <nlohmann/json.hpp>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// Each fails with INVALID_ARGUMENT naming the field, the expected and the received JSON type.
absl::Status ParseIndexRequest(absl::string_view body, inference::RepositoryIndexRequest* request);

// Fills `request`'s parameters: a JSON string becomes string_param, a boolean bool_param, an
// integer int64_param; other values are refused. The model name comes from the URL.
absl::Status ParseLoadRequest(absl::string_view body,
                              inference::RepositoryModelLoadRequest* request);
absl::Status ParseUnloadRequest(absl::string_view body,
                                inference::RepositoryModelUnloadRequest* request);

// The region's name comes from the URL.
absl::Status ParseSharedMemoryRegisterRequest(
    absl::string_view body, const std::string& name,
    inference::SystemSharedMemoryRegisterRequest* request);

// [{"name", "key", "offset", "byte_size"}, ...] in name order, as Triton answers.
nlohmann::ordered_json SharedMemoryStatusJson(
    const inference::SystemSharedMemoryStatusResponse& response);

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_JSON_CONTROL_JSON_H_
