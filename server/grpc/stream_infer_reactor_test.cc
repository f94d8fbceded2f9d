// The stream reactor through ModelStreamInfer, end to end in one process (grpc_test_support.h):
// a reply per request with bad ones answered inline (one that does not parse too), and a stream
// cancelled with requests in flight, after which the server still serves.
#include <grpcpp/grpcpp.h>

#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.grpc.pb.h"
#include "server/grpc/grpc_test_support.h"

namespace speech {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

TEST_F(InferenceServiceTest, StreamAnswersEachRequestAndReportsBadOnesInline) {
  grpc::ClientContext context;
  context.AddMetadata(kCallTagKey, "stream");
  auto stream = stub_->ModelStreamInfer(&context);
  const inference::ModelInferRequest good1 = IdentityRequest("good-1", 1);
  inference::ModelInferRequest bad = IdentityRequest("bad", 2);
  bad.mutable_inputs(0)->clear_shape();
  bad.mutable_inputs(0)->add_shape(2);
  bad.mutable_inputs(0)->add_shape(5);
  inference::ModelInferRequest unknown = IdentityRequest("unknown", 1);
  unknown.set_model_name("missing");
  const inference::ModelInferRequest good2 = IdentityRequest("good-2", 2);
  EXPECT_TRUE(stream->Write(good1));
  EXPECT_TRUE(stream->Write(bad));
  EXPECT_TRUE(stream->Write(unknown));
  EXPECT_TRUE(stream->Write(good2));
  EXPECT_TRUE(stream->WritesDone());
  std::map<std::string, inference::ModelStreamInferResponse> by_id;
  inference::ModelStreamInferResponse response;
  while (stream->Read(&response)) by_id[response.infer_response().id()] = response;
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();

  ASSERT_EQ(by_id.size(), 4u);
  EXPECT_THAT(by_id["good-1"].error_message(), IsEmpty());
  ExpectEcho(good1, by_id["good-1"].infer_response());
  EXPECT_THAT(by_id["good-2"].error_message(), IsEmpty());
  ExpectEcho(good2, by_id["good-2"].infer_response());
  EXPECT_THAT(by_id["bad"].error_message(),
              HasSubstr("model 'identity': input 'INPUT0': shape [2, 5] does not match [-1, 4]"));
  EXPECT_EQ(by_id["bad"].infer_response().model_name(), kIdentity);
  EXPECT_EQ(by_id["bad"].infer_response().outputs_size(), 0);
  EXPECT_THAT(by_id["unknown"].error_message(),
              HasSubstr("Request for unknown model: 'missing' is not in the repository"));
  EXPECT_EQ(by_id["unknown"].infer_response().model_name(), "missing");
  // A stream's requests may reach the batcher in either order (the reactor reads the next one
  // while it starts the last).
  EXPECT_THAT(factory_.batch_rows(kIdentity), UnorderedElementsAre(kWarmupRows, 1, 2));
}

// gRPC's own parsing would end the stream's reads there, as if the client had stopped sending,
// leaving that request and the ones after it unanswered.
TEST_F(InferenceServiceTest, StreamAnswersARequestThatDoesNotParseAndKeepsReading) {
  grpc::ClientContext context;
  auto stream = stub_->ModelStreamInfer(&context);
  inference::ModelStreamInferResponse response;
  inference::ModelInferRequest bad = IdentityRequest("bad", 1);
  bad.mutable_inputs(0)->set_name("IN\xffPUT0");  // proto3 strings must be UTF-8
  for (const inference::ModelInferRequest& request :
       {IdentityRequest("good-1", 1), bad, IdentityRequest("good-2", 2)}) {
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    if (request.id() == "bad") {
      EXPECT_THAT(response.error_message(),
                  HasSubstr("is not a valid inference.ModelInferRequest"));
      EXPECT_EQ(response.infer_response().id(), "");  // nothing of it could be read
    } else {
      EXPECT_THAT(response.error_message(), IsEmpty());
      ExpectEcho(request, response.infer_response());
    }
  }
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  const grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
}

TEST_F(InferenceServiceTest, StreamCancelledWithRequestsInFlightLeavesServerServing) {
  factory_.Hold(kIdentity);
  grpc::ClientContext context;
  context.AddMetadata(kCallTagKey, "stream");
  auto stream = stub_->ModelStreamInfer(&context);
  // One row each: either may reach the batcher first, run and be held; the other queues.
  EXPECT_TRUE(stream->Write(IdentityRequest("a", 1)));
  EXPECT_TRUE(stream->Write(IdentityRequest("b", 1)));
  factory_.WaitForExecutions(kIdentity, 2);  // the warm-up and the held one
  EXPECT_TRUE(observer_.WaitForReceived("stream", 2, kServerWait));
  context.TryCancel();
  EXPECT_TRUE(observer_.WaitForCancelled("stream", kServerWait));
  factory_.Release(kIdentity);
  // The reactor finishes the stream only once both requests are accounted for.
  EXPECT_TRUE(observer_.WaitForSent("stream", kServerWait).has_value());
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // The queued one left the queue uncomputed: its call was cancelled.
  EXPECT_THAT(factory_.batch_rows(kIdentity), ElementsAre(kWarmupRows, 1));

  const inference::ModelInferRequest after = IdentityRequest("after", 1);
  inference::ModelInferResponse response;
  grpc::Status status = Infer(after, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ExpectEcho(after, response);
}

}  // namespace
}  // namespace speech
