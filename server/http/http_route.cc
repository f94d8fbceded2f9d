#include "server/http/http_route.h"

#include <vector>

#include "absl/strings/str_split.h"

namespace speech {
namespace {

constexpr char kGet[] = "GET, HEAD";
constexpr char kPost[] = "POST";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "%2F" and the like decoded; a '%' not followed by two hex digits stays as it is.
std::string PercentDecode(absl::string_view segment) {
  std::string decoded;
  decoded.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    if (segment[i] == '%' && i + 2 < segment.size()) {
      const int high = HexValue(segment[i + 1]);
      const int low = HexValue(segment[i + 2]);
      if (high >= 0 && low >= 0) {
        decoded.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    decoded.push_back(segment[i]);
  }
  return decoded;
}

RestRoute Route(RestOperation operation, const char* allowed) {
  RestRoute route;
  route.match = RestRoute::Match::kFound;
  route.operation = operation;
  route.allowed = allowed;
  route.takes_body = allowed == kPost;
  return route;
}

// v2/KIND[/region/R]/status|unregister and v2/KIND/region/R/register, where KIND is
// systemsharedmemory or cudasharedmemory.
RestRoute SharedMemoryRoute(const std::vector<std::string>& s) {
  const bool cuda = s[1] == "cudasharedmemory";
  const size_t n = s.size();
  std::string region;
  if (n == 5 && s[2] == "region" && !s[3].empty()) {
    region = s[3];
  } else if (n != 3) {
    return RestRoute();
  }
  const std::string& kind = s[n - 1];
  RestRoute route;
  if (kind == "status") {
    route = Route(
        cuda ? RestOperation::kCudaSharedMemoryStatus : RestOperation::kSharedMemoryStatus, kGet);
  }
  if (kind == "unregister") {
    route = Route(
        cuda ? RestOperation::kCudaSharedMemoryUnregister : RestOperation::kSharedMemoryUnregister,
        kPost);
  }
  if (kind == "register" && !region.empty()) {
    route = Route(
        cuda ? RestOperation::kCudaSharedMemoryRegister : RestOperation::kSharedMemoryRegister,
        kPost);
  }
  route.region = std::move(region);
  return route;
}

// The route of `segments` (the path split at '/', without the leading empty one), whatever the
// method; kUnknownPath when there is none.
RestRoute RouteOfPath(const std::vector<std::string>& s) {
  const size_t n = s.size();
  if (n == 0 || s[0] != "v2") return RestRoute();
  if (n == 1) return Route(RestOperation::kServerMetadata, kGet);
  if (s[1] == "health" && n == 3) {
    if (s[2] == "live") return Route(RestOperation::kServerLive, kGet);
    if (s[2] == "ready") return Route(RestOperation::kServerReady, kGet);
    return RestRoute();
  }
  if (s[1] == "repository") {
    if (n == 3 && s[2] == "index") return Route(RestOperation::kRepositoryIndex, kPost);
    if (n == 5 && s[2] == "models" && !s[3].empty()) {
      RestRoute route;
      if (s[4] == "load") route = Route(RestOperation::kModelLoad, kPost);
      if (s[4] == "unload") route = Route(RestOperation::kModelUnload, kPost);
      if (route.match != RestRoute::Match::kFound) return RestRoute();
      route.model = s[3];
      return route;
    }
    return RestRoute();
  }
  if (s[1] == "systemsharedmemory" || s[1] == "cudasharedmemory") return SharedMemoryRoute(s);
  if (s[1] != "models" || n < 3 || s[2].empty()) return RestRoute();
  if (n == 3 && s[2] == "stats") return Route(RestOperation::kAllModelStatistics, kGet);
  // models/M[/versions/V][/kind]
  size_t next = 3;
  std::string version;
  if (n >= 5 && s[3] == "versions") {
    if (s[4].empty()) return RestRoute();
    version = s[4];
    next = 5;
  }
  RestRoute route;
  if (next == n) {
    route = Route(RestOperation::kModelMetadata, kGet);
  } else if (next + 1 == n) {
    const std::string& kind = s[next];
    if (kind == "ready") route = Route(RestOperation::kModelReady, kGet);
    if (kind == "config") route = Route(RestOperation::kModelConfig, kGet);
    if (kind == "stats") route = Route(RestOperation::kModelStatistics, kGet);
    if (kind == "infer") route = Route(RestOperation::kModelInfer, kPost);
  }
  if (route.match != RestRoute::Match::kFound) return RestRoute();
  route.model = s[2];
  route.version = std::move(version);
  return route;
}

}  // namespace

RestRoute MatchRestRoute(absl::string_view method, absl::string_view target) {
  absl::string_view path = target.substr(0, target.find_first_of("?#"));
  if (path.empty() || path[0] != '/') return RestRoute();
  path.remove_prefix(1);
  std::vector<std::string> segments;
  for (absl::string_view segment : absl::StrSplit(path, '/')) {
    segments.push_back(PercentDecode(segment));
  }
  RestRoute route = RouteOfPath(segments);
  if (route.match != RestRoute::Match::kFound) return route;
  const bool allowed =
      route.allowed == kGet ? (method == "GET" || method == "HEAD") : method == "POST";
  if (!allowed) route.match = RestRoute::Match::kWrongMethod;
  return route;
}

}  // namespace speech
