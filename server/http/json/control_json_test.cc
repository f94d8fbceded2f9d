// The REST control request bodies: repository index, load (with Triton's "config" parameter) and
// unload, shared-memory registration; and the shared-memory status reply.
#include "server/http/json/control_json.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

TEST(RepositoryJsonTest, EmptyBodiesAreEmptyRequests) {
  inference::RepositoryIndexRequest index;
  EXPECT_TRUE(ParseIndexRequest("", &index).ok());
  EXPECT_FALSE(index.ready());
  inference::RepositoryModelLoadRequest load;
  EXPECT_TRUE(ParseLoadRequest("", &load).ok());
  EXPECT_TRUE(load.parameters().empty());
  inference::RepositoryModelUnloadRequest unload;
  EXPECT_TRUE(ParseUnloadRequest("{}", &unload).ok());
  EXPECT_TRUE(unload.parameters().empty());
}

TEST(RepositoryJsonTest, IndexReadsReady) {
  inference::RepositoryIndexRequest index;
  ASSERT_TRUE(ParseIndexRequest(R"({"ready": true})", &index).ok());
  EXPECT_TRUE(index.ready());
  const absl::Status bad = ParseIndexRequest(R"({"ready": 1})", &index);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("'ready' of the repository index request must be true or "
                                       "false; was number"));
}

TEST(RepositoryJsonTest, LoadReadsEveryParameterKind) {
  inference::RepositoryModelLoadRequest load;
  ASSERT_TRUE(ParseLoadRequest(
                  R"({"parameters": {"config": "{\"max_batch_size\": 4}", "flag": true,
                                     "count": 3}})",
                  &load)
                  .ok());
  EXPECT_EQ(load.parameters().at("config").string_param(), R"({"max_batch_size": 4})");
  EXPECT_TRUE(load.parameters().at("flag").bool_param());
  EXPECT_EQ(load.parameters().at("count").int64_param(), 3);

  inference::RepositoryModelUnloadRequest unload;
  ASSERT_TRUE(ParseUnloadRequest(R"({"parameters": {"unload_dependents": true}})", &unload).ok());
  EXPECT_TRUE(unload.parameters().at("unload_dependents").bool_param());
}

TEST(RepositoryJsonTest, MalformedBodiesNameTheProblem) {
  inference::RepositoryModelLoadRequest load;
  struct Case {
    const char* body;
    const char* message;
  };
  for (const Case& bad : {
           Case{"{", "the model load request is not valid JSON"},
           Case{"[1]", "the model load request must be a JSON object; was array"},
           Case{R"({"parameters": 3})",
                "'parameters' of the model load request must be an object; was number"},
           Case{R"({"parameters": {"config": {"max_batch_size": 4}}})",
                "parameter 'config' of the model load request must be a string, a boolean or an "
                "integer; was object"},
           Case{R"({"parameters": {"x": 1.5}})", "was number"},
       }) {
    const absl::Status status = ParseLoadRequest(bad.body, &load);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad.body;
    EXPECT_THAT(status.message(), HasSubstr(bad.message)) << bad.body;
  }
}

TEST(SharedMemoryJsonTest, RegisterReadsKeyOffsetAndSize) {
  inference::SystemSharedMemoryRegisterRequest request;
  ASSERT_TRUE(ParseSharedMemoryRegisterRequest(
                  R"({"key": "/audio", "offset": 16, "byte_size": 64})", "in", &request)
                  .ok());
  EXPECT_EQ(request.name(), "in");
  EXPECT_EQ(request.key(), "/audio");
  EXPECT_EQ(request.offset(), 16u);
  EXPECT_EQ(request.byte_size(), 64u);
  ASSERT_TRUE(
      ParseSharedMemoryRegisterRequest(R"({"key": "/a", "byte_size": 8})", "in", &request).ok());
  EXPECT_EQ(request.offset(), 0u);  // optional, as in Triton's client
}

TEST(SharedMemoryJsonTest, RegisterNamesTheBadField) {
  inference::SystemSharedMemoryRegisterRequest request;
  auto message = [&](const char* body) {
    const absl::Status status = ParseSharedMemoryRegisterRequest(body, "in", &request);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << body;
    return std::string(status.message());
  };
  EXPECT_THAT(message(R"({"byte_size": 8})"),
              HasSubstr("'key' of the shared-memory register request must be a string; was null"));
  EXPECT_THAT(message(R"({"key": "/a", "byte_size": -8})"),
              HasSubstr("'byte_size' of the shared-memory register request must be a "
                        "non-negative integer; was number"));
  EXPECT_THAT(message(R"({"key": "/a", "byte_size": 8, "offset": "0"})"),
              HasSubstr("'offset' of the shared-memory register request"));
  EXPECT_THAT(message(R"({"key": "/a"})"), HasSubstr("'byte_size'"));
  EXPECT_THAT(message("[1]"), HasSubstr("must be a JSON object; was array"));
  EXPECT_THAT(message(""), HasSubstr("'key'"));
}

TEST(SharedMemoryJsonTest, StatusIsAListInNameOrder) {
  inference::SystemSharedMemoryStatusResponse response;
  auto& b = (*response.mutable_regions())["b"];
  b.set_name("b");
  b.set_key("/kb");
  b.set_byte_size(8);
  auto& a = (*response.mutable_regions())["a"];
  a.set_name("a");
  a.set_key("/ka");
  a.set_offset(4);
  a.set_byte_size(16);
  EXPECT_EQ(SharedMemoryStatusJson(response).dump(),
            R"([{"name":"a","key":"/ka","offset":4,"byte_size":16},)"
            R"({"name":"b","key":"/kb","offset":0,"byte_size":8}])");
}

}  // namespace
}  // namespace speech
