// The KServe v2 REST routes as Triton serves them, matched from a request's method and target:
// a pure function, so that every path and method is tested without a server.
//
//   GET  /v2                                   server metadata
//   GET  /v2/health/live, /v2/health/ready     health (200, or 400 when false)
//   GET  /v2/models/stats                      statistics of every model
//   GET  /v2/models/M[/versions/V]             model metadata
//   GET  /v2/models/M[/versions/V]/ready       model readiness (200, or 400 when not ready)
//   GET  /v2/models/M[/versions/V]/config      model configuration
//   GET  /v2/models/M[/versions/V]/stats       model statistics
//   POST /v2/models/M[/versions/V]/infer       inference
//   POST /v2/repository/index                  repository index
//   POST /v2/repository/models/M/load, /unload model control
//   GET  /v2/systemsharedmemory[/region/R]/status  shared-memory regions (all, or R)
//   POST /v2/systemsharedmemory/region/R/register  register region R
//   POST /v2/systemsharedmemory[/region/R]/unregister  unregister every region, or R
//   the same three under /v2/cudasharedmemory    CUDA shared memory
//
// GET routes also answer HEAD. Path segments are percent-decoded; the query string is ignored.
#ifndef SPEECH_SERVER_HTTP_HTTP_ROUTE_H_
#define SPEECH_SERVER_HTTP_HTTP_ROUTE_H_

#include <string>

#include "absl/strings/string_view.h"

namespace speech {

enum class RestOperation {
  kServerMetadata,
  kServerLive,
  kServerReady,
  kAllModelStatistics,
  kModelMetadata,
  kModelReady,
  kModelConfig,
  kModelStatistics,
  kModelInfer,
  kRepositoryIndex,
  kModelLoad,
  kModelUnload,
  kSharedMemoryStatus,
  kSharedMemoryRegister,
  kSharedMemoryUnregister,
  kCudaSharedMemoryStatus,
  kCudaSharedMemoryRegister,
  kCudaSharedMemoryUnregister,
};

struct RestRoute {
  enum class Match {
    kFound,
    kUnknownPath,  // 404
    kWrongMethod,  // 405; `allowed` names the methods the path takes
  };
  Match match = Match::kUnknownPath;
  RestOperation operation = RestOperation::kServerMetadata;
  std::string model;         // percent-decoded; empty where the route has none
  std::string version;       // empty: the server's choice of version
  std::string region;        // percent-decoded; empty where the route names no region
  const char* allowed = "";  // "GET, HEAD" or "POST" when the path is known
  // True for routes whose request body is read (POST); GET routes ignore any body.
  bool takes_body = false;
};

// The route of `method` on `target` (the request line's target: path and optional query).
RestRoute MatchRestRoute(absl::string_view method, absl::string_view target);

}  // namespace speech

#endif  // SPEECH_SERVER_HTTP_HTTP_ROUTE_H_
