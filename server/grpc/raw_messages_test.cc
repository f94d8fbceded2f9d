#include "server/grpc/raw_messages.h"

#include <grpcpp/support/slice.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.pb.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

grpc::ByteBuffer BufferOf(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string BytesOf(const grpc::ByteBuffer& buffer) {
  grpc::Slice slice;
  EXPECT_TRUE(buffer.DumpToSingleSlice(&slice).ok());
  return std::string(reinterpret_cast<const char*>(slice.begin()), slice.size());
}

inference::ModelInferRequest Request() {
  inference::ModelInferRequest request;
  request.set_model_name("identity");
  request.set_id("utterance-7");
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(2);
  request.add_raw_input_contents(std::string(8, '\1'));
  return request;
}

TEST(ParseInferRequestTest, ParsesAValidRequestAndLeavesTheBufferAsItWas) {
  const grpc::ByteBuffer raw = BufferOf(Request().SerializeAsString());
  inference::ModelInferRequest parsed;
  ASSERT_TRUE(ParseInferRequest(raw, &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), Request().SerializeAsString());
  EXPECT_EQ(BytesOf(raw), Request().SerializeAsString());
}

TEST(ParseInferRequestTest, AnEmptyBufferIsAnEmptyRequest) {
  inference::ModelInferRequest parsed;
  ASSERT_TRUE(ParseInferRequest(BufferOf(""), &parsed).ok());
  EXPECT_EQ(parsed.model_name(), "");
}

TEST(ParseInferRequestTest, MalformedBytesAreInvalidArgument) {
  std::string bytes = Request().SerializeAsString();
  bytes.resize(bytes.size() - 3);  // the last field cut short
  inference::ModelInferRequest parsed;
  const absl::Status status = ParseInferRequest(BufferOf(bytes), &parsed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr(absl::StrCat("the request (", bytes.size(), " bytes)")));
  EXPECT_THAT(status.message(), HasSubstr("is not a valid inference.ModelInferRequest"));
}

TEST(ParseInferRequestTest, AStringFieldThatIsNotUtf8IsInvalidArgument) {
  // The wire bytes of `name: "IN\xffPUT0"` in an input, written by hand: protobuf refuses to
  // serialize invalid UTF-8 only with an error log, so a client can send it.
  inference::ModelInferRequest request = Request();
  request.mutable_inputs(0)->set_name("IN?PUT0");
  std::string bytes = request.SerializeAsString();
  bytes[bytes.find("IN?PUT0") + 2] = '\xff';
  inference::ModelInferRequest parsed;
  const absl::Status status = ParseInferRequest(BufferOf(bytes), &parsed);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("is not valid UTF-8"));
}

TEST(SerializeReplyTest, SmallAndLargeRepliesRoundTrip) {
  for (size_t bytes : {size_t{10}, size_t{1} << 20}) {
    inference::ModelInferResponse response;
    response.set_id("r");
    response.add_raw_output_contents(std::string(bytes, 'x'));
    grpc::ByteBuffer raw;
    ASSERT_TRUE(SerializeReply(response, &raw).ok());
    EXPECT_EQ(BytesOf(raw), response.SerializeAsString()) << bytes;
  }
}

}  // namespace
}  // namespace speech
