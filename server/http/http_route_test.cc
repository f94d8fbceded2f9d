// Every KServe v2 REST route, HEAD, wrong methods with their Allow, unknown paths, percent
// decoding, query strings and the corner cases of model and version segments.
#include "server/http/http_route.h"

#include <string>

#include "gtest/gtest.h"

namespace speech {
namespace {

using Match = RestRoute::Match;

void ExpectRoute(const char* method, const char* target, RestOperation operation,
                 const std::string& model = "", const std::string& version = "") {
  const RestRoute route = MatchRestRoute(method, target);
  EXPECT_EQ(route.match, Match::kFound) << method << " " << target;
  EXPECT_EQ(route.operation, operation) << method << " " << target;
  EXPECT_EQ(route.model, model) << target;
  EXPECT_EQ(route.version, version) << target;
}

TEST(MatchRestRouteTest, ServerRoutes) {
  ExpectRoute("GET", "/v2", RestOperation::kServerMetadata);
  ExpectRoute("GET", "/v2/health/live", RestOperation::kServerLive);
  ExpectRoute("GET", "/v2/health/ready", RestOperation::kServerReady);
  ExpectRoute("HEAD", "/v2/health/ready", RestOperation::kServerReady);
  ExpectRoute("GET", "/v2/models/stats", RestOperation::kAllModelStatistics);
  ExpectRoute("POST", "/v2/repository/index", RestOperation::kRepositoryIndex);
}

TEST(MatchRestRouteTest, ModelRoutesWithAndWithoutVersion) {
  ExpectRoute("GET", "/v2/models/simple", RestOperation::kModelMetadata, "simple");
  ExpectRoute("GET", "/v2/models/simple/versions/3", RestOperation::kModelMetadata, "simple", "3");
  ExpectRoute("GET", "/v2/models/simple/ready", RestOperation::kModelReady, "simple");
  ExpectRoute("GET", "/v2/models/simple/versions/1/ready", RestOperation::kModelReady, "simple",
              "1");
  ExpectRoute("GET", "/v2/models/simple/config", RestOperation::kModelConfig, "simple");
  ExpectRoute("GET", "/v2/models/a/versions/2/config", RestOperation::kModelConfig, "a", "2");
  ExpectRoute("GET", "/v2/models/simple/stats", RestOperation::kModelStatistics, "simple");
  ExpectRoute("GET", "/v2/models/s/versions/1/stats", RestOperation::kModelStatistics, "s", "1");
  ExpectRoute("POST", "/v2/models/simple/infer", RestOperation::kModelInfer, "simple");
  ExpectRoute("POST", "/v2/models/simple/versions/1/infer", RestOperation::kModelInfer, "simple",
              "1");
  ExpectRoute("POST", "/v2/repository/models/simple/load", RestOperation::kModelLoad, "simple");
  ExpectRoute("POST", "/v2/repository/models/simple/unload", RestOperation::kModelUnload, "simple");
  // A model named "stats" is reached through its version; "versions" as a model name too.
  ExpectRoute("GET", "/v2/models/stats/versions/1", RestOperation::kModelMetadata, "stats", "1");
  ExpectRoute("GET", "/v2/models/versions", RestOperation::kModelMetadata, "versions");
}

TEST(MatchRestRouteTest, SystemSharedMemoryRoutes) {
  auto expect = [](const char* method, const char* target, RestOperation operation,
                   const std::string& region) {
    const RestRoute route = MatchRestRoute(method, target);
    EXPECT_EQ(route.match, Match::kFound) << target;
    EXPECT_EQ(route.operation, operation) << target;
    EXPECT_EQ(route.region, region) << target;
  };
  expect("GET", "/v2/systemsharedmemory/status", RestOperation::kSharedMemoryStatus, "");
  expect("GET", "/v2/systemsharedmemory/region/in%200/status", RestOperation::kSharedMemoryStatus,
         "in 0");
  expect("POST", "/v2/systemsharedmemory/region/in/register", RestOperation::kSharedMemoryRegister,
         "in");
  expect("POST", "/v2/systemsharedmemory/unregister", RestOperation::kSharedMemoryUnregister, "");
  expect("POST", "/v2/systemsharedmemory/region/in/unregister",
         RestOperation::kSharedMemoryUnregister, "in");
  EXPECT_EQ(MatchRestRoute("GET", "/v2/systemsharedmemory/region/in/register").match,
            Match::kWrongMethod);
  EXPECT_EQ(MatchRestRoute("POST", "/v2/systemsharedmemory/status").match, Match::kWrongMethod);
  expect("GET", "/v2/cudasharedmemory/status", RestOperation::kCudaSharedMemoryStatus, "");
  expect("POST", "/v2/cudasharedmemory/region/g/register", RestOperation::kCudaSharedMemoryRegister,
         "g");
  expect("POST", "/v2/cudasharedmemory/unregister", RestOperation::kCudaSharedMemoryUnregister, "");
}

TEST(MatchRestRouteTest, PercentDecodingAndQueries) {
  ExpectRoute("GET", "/v2/models/my%20model/versions/1", RestOperation::kModelMetadata, "my model",
              "1");
  ExpectRoute("GET", "/v2/models/a%2Fb/ready", RestOperation::kModelReady, "a/b");
  ExpectRoute("GET", "/v2/models/100%/ready", RestOperation::kModelReady, "100%");
  ExpectRoute("GET", "/v2/models/x%zz", RestOperation::kModelMetadata, "x%zz");
  ExpectRoute("GET", "/v2/health/live?verbose=1", RestOperation::kServerLive);
  ExpectRoute("POST", "/v2/models/simple/infer?x=y#frag", RestOperation::kModelInfer, "simple");
}

TEST(MatchRestRouteTest, BodiesAreTakenByPostRoutesOnly) {
  EXPECT_TRUE(MatchRestRoute("POST", "/v2/models/m/infer").takes_body);
  EXPECT_TRUE(MatchRestRoute("POST", "/v2/repository/index").takes_body);
  EXPECT_FALSE(MatchRestRoute("GET", "/v2/models/m").takes_body);
}

TEST(MatchRestRouteTest, WrongMethodsNameTheAllowedOnes) {
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    const RestRoute route = MatchRestRoute(method, "/v2/health/live");
    EXPECT_EQ(route.match, Match::kWrongMethod) << method;
    EXPECT_STREQ(route.allowed, "GET, HEAD");
  }
  for (const char* method : {"GET", "HEAD", "PUT"}) {
    const RestRoute route = MatchRestRoute(method, "/v2/models/simple/infer");
    EXPECT_EQ(route.match, Match::kWrongMethod) << method;
    EXPECT_STREQ(route.allowed, "POST");
  }
  EXPECT_EQ(MatchRestRoute("GET", "/v2/repository/index").match, Match::kWrongMethod);
  EXPECT_EQ(MatchRestRoute("DELETE", "/v2/repository/models/m/unload").match, Match::kWrongMethod);
}

TEST(MatchRestRouteTest, UnknownPaths) {
  for (const char* target : {"",
                             "/",
                             "v2",
                             "/v1",
                             "/v2/",
                             "/v2//",
                             "/v3/models/m",
                             "/v2/health",
                             "/v2/health/dead",
                             "/v2/health/live/x",
                             "/v2/models",
                             "/v2/models/",
                             "/v2/models//ready",
                             "/v2/models/m/versions",
                             "/v2/models/m/versions/",
                             "/v2/models/m/versions//infer",
                             "/v2/models/m/trace/setting",
                             "/v2/models/m/generate",
                             "/v2/models/m/infer/x",
                             "/v2/models/m/versions/1/ready/x",
                             "/v2/repository",
                             "/v2/repository/models/m",
                             "/v2/repository/models//load",
                             "/v2/repository/models/m/delete",
                             "/metrics",
                             "/v2/systemsharedmemory",
                             "/v2/systemsharedmemory/register",
                             "/v2/systemsharedmemory/region//status",
                             "/v2/systemsharedmemory/region/r",
                             "/v2/systemsharedmemory/region/r/delete",
                             "/v2/cudasharedmemory/region/r",
                             "/v2/xsharedmemory/status"}) {
    EXPECT_EQ(MatchRestRoute("GET", target).match, Match::kUnknownPath) << target;
    EXPECT_EQ(MatchRestRoute("POST", target).match, Match::kUnknownPath) << target;
  }
}

}  // namespace
}  // namespace speech
