// InferenceCore::StartInference over a repository on fake instances: the reply, named versions
// and requested outputs, refusals, failures, the call's cancellation and deadline reaching the
// batcher, and what each leaves in the statistics.
#include "server/core/inference_core.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "proto/grpc_service.pb.h"
#include "server/core/core_test_support.h"

namespace speech {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// What `done` of one StartInference saw. Its status may be read once `done` has been notified.
struct Outcome {
  std::function<void(absl::Status)> Callback() {
    return [this](absl::Status result) {
      status = std::move(result);
      if (calls.fetch_add(1) == 0) done.Notify();
    };
  }

  absl::Notification done;
  absl::Status status = absl::UnknownError("done not called");
  std::atomic<int> calls{0};
};

// A request to `echo` with `rows` rows of 3 samples.
inference::ModelInferRequest EchoRequest(int64_t rows = 2) {
  inference::ModelInferRequest message;
  message.set_model_name("echo");
  message.set_id("req-1");
  auto* audio = message.add_inputs();
  audio->set_name("AUDIO");
  audio->set_datatype("FP32");
  audio->add_shape(rows);
  audio->add_shape(3);
  auto* length = message.add_inputs();
  length->set_name("LENGTH");
  length->set_datatype("INT32");
  length->add_shape(rows);
  length->add_shape(1);
  std::vector<float> samples;
  std::vector<int32_t> lengths;
  for (int64_t row = 0; row < rows; ++row) {
    for (int i = 0; i < 3; ++i) samples.push_back(static_cast<float>(row * 10 + i) + 0.5f);
    lengths.push_back(static_cast<int32_t>(row + 1));
  }
  message.add_raw_input_contents(Bytes(samples));
  message.add_raw_input_contents(Bytes(lengths));
  return message;
}

// ---- StartInference ----

TEST_F(InferenceCoreTest, InferenceAnswersWithTheModelOutputs) {
  LoadStandardRepository();
  const inference::ModelInferRequest message = EchoRequest(2);
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(response.model_name(), "echo");
  EXPECT_EQ(response.model_version(), "2");
  EXPECT_EQ(response.id(), "req-1");
  ASSERT_EQ(response.outputs_size(), 2);
  ASSERT_EQ(response.raw_output_contents_size(), 2);
  EXPECT_EQ(response.outputs(0).name(), "OUT");
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2, 3));
  EXPECT_EQ(response.raw_output_contents(0), message.raw_input_contents(0));
  EXPECT_EQ(response.outputs(1).name(), "OUT_LENGTH");
  EXPECT_EQ(response.outputs(1).datatype(), "INT32");
  EXPECT_THAT(response.outputs(1).shape(), ElementsAre(2, 1));
  EXPECT_EQ(response.raw_output_contents(1), message.raw_input_contents(1));

  repository_->Shutdown();
  EXPECT_EQ(outcome.calls.load(), 1);
}

// A graceful shutdown's steps: while draining the server is not ready but still serves, and a
// request accepted before RefuseNewRequests completes while new ones are refused at once.
TEST_F(InferenceCoreTest, DrainingThenRefusingNewRequests) {
  LoadStandardRepository();
  ASSERT_TRUE(core_->ServerReady());
  core_->StartDraining();
  EXPECT_FALSE(core_->ServerReady());
  const inference::ModelInferRequest message = EchoRequest(1);
  inference::ModelInferResponse served;
  Outcome while_draining;
  core_->StartInference(&message, CallContext(), &served, while_draining.Callback());
  while_draining.done.WaitForNotification();
  EXPECT_TRUE(while_draining.status.ok()) << while_draining.status;

  factory_.Hold("echo");
  inference::ModelInferResponse accepted_response;
  Outcome accepted;
  core_->StartInference(&message, CallContext(), &accepted_response, accepted.Callback());
  core_->RefuseNewRequests();
  inference::ModelInferResponse refused_response;
  Outcome refused;
  core_->StartInference(&message, CallContext(), &refused_response, refused.Callback());
  ASSERT_TRUE(refused.done.HasBeenNotified());
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status.message(), HasSubstr("shutting down"));
  EXPECT_FALSE(accepted.done.HasBeenNotified());
  factory_.Release("echo");
  accepted.done.WaitForNotification();
  EXPECT_TRUE(accepted.status.ok()) << accepted.status;
  EXPECT_EQ(accepted_response.raw_output_contents(0), message.raw_input_contents(0));
}

TEST_F(InferenceCoreTest, RequestOverTheElementLimitIsRefusedAndCounted) {
  limits_.max_input_elements = 5;
  LoadStandardRepository();
  const inference::ModelInferRequest message = EchoRequest(2);  // AUDIO: 2 x 3 elements
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  ASSERT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_THAT(outcome.status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("model 'echo'"), HasSubstr("input 'AUDIO' has 6 elements"),
                             HasSubstr("limit is 5 per input (--max-input-elements)"))));
  EXPECT_EQ(Statistics("echo", "2").inference_stats().fail().count(), 1u);
}

// Requests held in execution and in the queue count against the model's queued bytes until they
// are answered; one that would pass the limit is refused at once, and the bytes come back.
TEST_F(InferenceCoreTest, QueuedBytesPastTheModelLimitAreRefusedUntilRequestsFinish) {
  const inference::ModelInferRequest message = EchoRequest(1);  // 12 + 4 input bytes
  limits_.max_queued_bytes_per_model = 40;
  LoadStandardRepository();
  const size_t warm_ups = factory_.batch_rows("echo").size();
  factory_.Hold("echo");
  inference::ModelInferResponse responses[4];
  Outcome outcomes[4];
  core_->StartInference(&message, CallContext(), &responses[0], outcomes[0].Callback());
  factory_.WaitForExecutions("echo", warm_ups + 1);
  core_->StartInference(&message, CallContext(), &responses[1], outcomes[1].Callback());
  core_->StartInference(&message, CallContext(), &responses[2], outcomes[2].Callback());
  ASSERT_TRUE(outcomes[2].done.HasBeenNotified());
  EXPECT_THAT(outcomes[2].status,
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(HasSubstr("model 'echo'"), HasSubstr("hold 48 input bytes"),
                             HasSubstr("limit is 40 (--max-queued-bytes-per-model)"))));
  EXPECT_FALSE(outcomes[0].done.HasBeenNotified());
  EXPECT_FALSE(outcomes[1].done.HasBeenNotified());
  factory_.Release("echo");
  outcomes[0].done.WaitForNotification();
  outcomes[1].done.WaitForNotification();
  EXPECT_TRUE(outcomes[0].status.ok()) << outcomes[0].status;
  EXPECT_TRUE(outcomes[1].status.ok()) << outcomes[1].status;
  core_->StartInference(&message, CallContext(), &responses[3], outcomes[3].Callback());
  outcomes[3].done.WaitForNotification();
  EXPECT_TRUE(outcomes[3].status.ok()) << outcomes[3].status;
  const inference::ModelStatistics stats = Statistics("echo", "2");
  EXPECT_EQ(stats.inference_stats().success().count(), 3u);
  EXPECT_EQ(stats.inference_stats().fail().count(), 1u);
}

TEST_F(InferenceCoreTest, RequestThatAloneIsOverTheQueuedBytesLimitIsInvalid) {
  const inference::ModelInferRequest message = EchoRequest(2);  // 24 + 8 input bytes
  limits_.max_queued_bytes_per_model = 30;
  LoadStandardRepository();
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  ASSERT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_THAT(outcome.status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("32 input bytes are more than a model may hold queued, 30"),
                             ::testing::Not(HasSubstr("retry")))));
}

TEST_F(InferenceCoreTest, InferenceOnANamedVersion) {
  LoadStandardRepository();
  inference::ModelInferRequest message = EchoRequest(1);
  message.set_model_version("1");
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(response.model_version(), "1");
  EXPECT_EQ(Statistics("echo", "1").inference_stats().success().count(), 1u);
  EXPECT_EQ(Statistics("echo", "2").inference_stats().success().count(), 0u);
}

TEST_F(InferenceCoreTest, InferenceReturnsOnlyTheRequestedOutputs) {
  LoadStandardRepository();
  inference::ModelInferRequest message = EchoRequest(1);
  message.add_outputs()->set_name("OUT_LENGTH");
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "OUT_LENGTH");
  EXPECT_EQ(response.raw_output_contents(0), message.raw_input_contents(1));
}

TEST_F(InferenceCoreTest, SuccessIsCountedInStatistics) {
  LoadStandardRepository();
  const inference::ModelInferRequest message = EchoRequest(3);
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  const inference::ModelStatistics stats = Statistics("echo", "2");
  EXPECT_EQ(stats.inference_stats().success().count(), 1u);
  EXPECT_EQ(stats.inference_stats().fail().count(), 0u);
  // Rows, not requests; warm-up runs are not counted.
  EXPECT_EQ(stats.inference_count(), 3u);
  EXPECT_EQ(stats.execution_count(), 1u);
}

TEST_F(InferenceCoreTest, UnknownModelIsNotFound) {
  LoadStandardRepository();
  inference::ModelInferRequest message = EchoRequest(1);
  message.set_model_name("tacotron");
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  ASSERT_TRUE(outcome.done.HasBeenNotified());  // refused before StartInference returns
  EXPECT_THAT(outcome.status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("'tacotron'")));
  EXPECT_EQ(outcome.calls.load(), 1);
  EXPECT_EQ(response.outputs_size(), 0);
}

TEST_F(InferenceCoreTest, UnknownVersionIsNotFound) {
  LoadStandardRepository();
  inference::ModelInferRequest message = EchoRequest(1);
  message.set_model_version("9");
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  ASSERT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_THAT(outcome.status,
              StatusIs(absl::StatusCode::kNotFound, AllOf(HasSubstr("'echo'"), HasSubstr("'9'"))));
}

TEST_F(InferenceCoreTest, DecodeFailureNamesTheModelAndIsCountedAsAFailure) {
  LoadStandardRepository();
  inference::ModelInferRequest message = EchoRequest(1);
  message.mutable_inputs(0)->set_datatype("FP64");
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  ASSERT_TRUE(outcome.done.HasBeenNotified());
  EXPECT_THAT(outcome.status,
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(StartsWith("model 'echo': "), HasSubstr("input 'AUDIO'"),
                             HasSubstr("datatype 'FP64' does not match FP32"))));
  EXPECT_EQ(outcome.calls.load(), 1);
  const inference::ModelStatistics stats = Statistics("echo", "2");
  EXPECT_EQ(stats.inference_stats().fail().count(), 1u);
  EXPECT_EQ(stats.inference_stats().success().count(), 0u);
  EXPECT_EQ(stats.execution_count(), 0u);
}

TEST_F(InferenceCoreTest, ExecutionFailureReachesDoneAndStatistics) {
  LoadStandardRepository();
  factory_.FailExecutionsOf("echo", absl::InternalError("GPU fell off the bus"));
  const inference::ModelInferRequest message = EchoRequest(1);
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  EXPECT_THAT(outcome.status,
              StatusIs(absl::StatusCode::kInternal, HasSubstr("GPU fell off the bus")));
  EXPECT_EQ(response.outputs_size(), 0);
  EXPECT_EQ(Statistics("echo", "2").inference_stats().fail().count(), 1u);
}

// The call's cancellation and deadline reach the batcher: a second request queued behind a held
// one is dropped uncomputed.
TEST_F(InferenceCoreTest, CancelledCallIsDroppedWhileQueued) {
  LoadStandardRepository();
  const size_t warm_ups = factory_.batch_rows("echo").size();
  factory_.Hold("echo");
  const inference::ModelInferRequest first = EchoRequest(1);
  inference::ModelInferResponse first_response;
  Outcome first_outcome;
  core_->StartInference(&first, CallContext(), &first_response, first_outcome.Callback());
  factory_.WaitForExecutions("echo", warm_ups + 1);

  const inference::ModelInferRequest second = EchoRequest(2);
  inference::ModelInferResponse second_response;
  Outcome second_outcome;
  CallContext call;
  call.is_cancelled = [] { return true; };
  core_->StartInference(&second, std::move(call), &second_response, second_outcome.Callback());
  factory_.Release("echo");

  first_outcome.done.WaitForNotification();
  second_outcome.done.WaitForNotification();
  EXPECT_TRUE(first_outcome.status.ok()) << first_outcome.status;
  EXPECT_THAT(second_outcome.status, StatusIs(absl::StatusCode::kCancelled, HasSubstr("echo")));
  EXPECT_EQ(second_response.outputs_size(), 0);
  EXPECT_EQ(factory_.batch_rows("echo").size(), warm_ups + 1);
  EXPECT_EQ(factory_.batch_rows("echo").back(), 1);
  const inference::ModelStatistics stats = Statistics("echo", "2");
  EXPECT_EQ(stats.inference_stats().success().count(), 1u);
  EXPECT_EQ(stats.inference_stats().fail().count(), 1u);
}

TEST_F(InferenceCoreTest, CallWhoseDeadlinePassedIsDroppedWhileQueued) {
  LoadStandardRepository();
  const size_t warm_ups = factory_.batch_rows("echo").size();
  factory_.Hold("echo");
  const inference::ModelInferRequest first = EchoRequest(1);
  inference::ModelInferResponse first_response;
  Outcome first_outcome;
  core_->StartInference(&first, CallContext(), &first_response, first_outcome.Callback());
  factory_.WaitForExecutions("echo", warm_ups + 1);

  const inference::ModelInferRequest second = EchoRequest(2);
  inference::ModelInferResponse second_response;
  Outcome second_outcome;
  CallContext call;
  call.deadline = clock_.Now() - absl::Milliseconds(1);
  core_->StartInference(&second, std::move(call), &second_response, second_outcome.Callback());
  factory_.Release("echo");

  first_outcome.done.WaitForNotification();
  second_outcome.done.WaitForNotification();
  EXPECT_TRUE(first_outcome.status.ok()) << first_outcome.status;
  EXPECT_THAT(second_outcome.status,
              StatusIs(absl::StatusCode::kDeadlineExceeded, HasSubstr("deadline")));
  EXPECT_EQ(second_response.outputs_size(), 0);
  EXPECT_EQ(factory_.batch_rows("echo").size(), warm_ups + 1);
  EXPECT_EQ(factory_.batch_rows("echo").back(), 1);
}

TEST_F(InferenceCoreTest, CallWithAFutureDeadlineRuns) {
  LoadStandardRepository();
  const inference::ModelInferRequest message = EchoRequest(1);
  inference::ModelInferResponse response;
  Outcome outcome;
  CallContext call;
  call.deadline = clock_.Now() + absl::Seconds(10);
  call.is_cancelled = [] { return false; };
  core_->StartInference(&message, std::move(call), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  EXPECT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(response.outputs_size(), 2);
}

TEST_F(InferenceCoreTest, RequestDurationFollowsTheClock) {
  LoadStandardRepository();
  const size_t warm_ups = factory_.batch_rows("echo").size();
  factory_.Hold("echo");
  const inference::ModelInferRequest message = EchoRequest(1);
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  factory_.WaitForExecutions("echo", warm_ups + 1);
  clock_.Advance(absl::Milliseconds(250));
  factory_.Release("echo");
  outcome.done.WaitForNotification();
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  const inference::ModelStatistics stats = Statistics("echo", "2");
  EXPECT_EQ(stats.inference_stats().success().count(), 1u);
  EXPECT_EQ(stats.inference_stats().success().ns(), 250'000'000u);
  EXPECT_EQ(stats.last_inference(), static_cast<uint64_t>(absl::ToUnixMillis(clock_.Now())));
}

TEST_F(InferenceCoreTest, InferenceWithoutMetricsStillAnswers) {
  LoadStandardRepository(/*with_metrics=*/false);
  const inference::ModelInferRequest message = EchoRequest(1);
  inference::ModelInferResponse response;
  Outcome outcome;
  core_->StartInference(&message, CallContext(), &response, outcome.Callback());
  outcome.done.WaitForNotification();
  ASSERT_TRUE(outcome.status.ok()) << outcome.status;
  EXPECT_EQ(response.raw_output_contents(0), message.raw_input_contents(0));
  // Statistics name the version and count nothing.
  const inference::ModelStatistics stats = Statistics("echo", "2");
  EXPECT_EQ(stats.name(), "echo");
  EXPECT_EQ(stats.version(), "2");
  EXPECT_EQ(stats.inference_stats().success().count(), 0u);
}

}  // namespace
}  // namespace speech
