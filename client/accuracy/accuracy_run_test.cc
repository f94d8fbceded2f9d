#include "client/accuracy/accuracy_run.h"

#include <atomic>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

constexpr int kConcurrency = 4;

HostTensor Floats(const std::string& name, std::vector<float> values) {
  HostTensor tensor;
  tensor.name = name;
  tensor.datatype = "FP32";
  tensor.shape = {1, static_cast<int64_t>(values.size())};
  tensor.bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return tensor;
}

inference::ModelInferRequest Request(std::vector<float> values) {
  return MakeInferRequest("m", "1", {Floats("X", std::move(values))}, {});
}

// A reply whose outputs are `outputs`, as the server sends them (raw contents).
inference::ModelInferResponse Reply(const std::vector<HostTensor>& outputs) {
  inference::ModelInferResponse response;
  for (const HostTensor& tensor : outputs) {
    auto* output = response.add_outputs();
    output->set_name(tensor.name);
    output->set_datatype(tensor.datatype);
    for (int64_t dim : tensor.shape) output->add_shape(dim);
    response.add_raw_output_contents(tensor.bytes);
  }
  return response;
}

// A server whose output Y is its input X doubled.
absl::StatusOr<inference::ModelInferResponse> Doubler(const inference::ModelInferRequest& request) {
  absl::StatusOr<std::vector<HostTensor>> inputs = RequestInputs(request);
  if (!inputs.ok()) return inputs.status();
  std::vector<float> values = AsVector<float>((*inputs)[0]);
  for (float& value : values) value *= 2;
  return Reply({Floats("Y", values)});
}

TEST(RequestInputsTest, ReadsTheRawContents) {
  absl::StatusOr<std::vector<HostTensor>> inputs = RequestInputs(Request({1, 2, 3}));
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].name, "X");
  EXPECT_EQ((*inputs)[0].datatype, "FP32");
  EXPECT_EQ((*inputs)[0].shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(AsVector<float>((*inputs)[0]), (std::vector<float>{1, 2, 3}));
  inference::ModelInferRequest typed = Request({1});
  typed.clear_raw_input_contents();
  EXPECT_EQ(RequestInputs(typed).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CompareReplyTest, MatchesOutputsByNameInTheReferencesOrder) {
  const std::vector<HostTensor> reply = {Floats("B", {2}), Floats("EXTRA", {0}), Floats("A", {1})};
  const std::vector<HostTensor> reference = {Floats("A", {1}), Floats("B", {2.5f}),
                                             Floats("C", {3})};
  const std::vector<TensorComparison> comparisons = CompareReply(reply, reference);
  ASSERT_EQ(comparisons.size(), 3u);
  EXPECT_EQ(comparisons[0].max_abs_error, 0);
  EXPECT_DOUBLE_EQ(comparisons[1].max_abs_error, 0.5);
  EXPECT_TRUE(comparisons[2].missing);
}

TEST(RunAccuracyTest, SendsEveryRequestRepeatTimesAndComparesEachReply) {
  const std::vector<inference::ModelInferRequest> requests = {Request({1, 2}), Request({3}),
                                                              Request({4, 5, 6})};
  // The reference of request 1 is off by 0.5, so every repetition of it shows the error.
  const std::vector<std::vector<HostTensor>> references = {
      {Floats("Y", {2, 4})}, {Floats("Y", {6.5f})}, {Floats("Y", {8, 10, 12})}};
  std::atomic<int> calls{0};
  auto infer = [&](const inference::ModelInferRequest& request) {
    ++calls;
    return Doubler(request);
  };
  std::ostringstream out;
  ProgressLog::Options progress_options;
  progress_options.total = 6;
  progress_options.out = &out;
  auto progress = ProgressLog::Create(progress_options);
  ASSERT_TRUE(progress.ok());
  AccuracyRunOptions options;
  options.concurrency = 4;
  options.repeat = 2;
  absl::StatusOr<std::vector<RequestResult>> results =
      RunAccuracy(options, requests, references, infer, progress->get());
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(calls.load(), 6);
  ASSERT_EQ(results->size(), 6u);
  for (int64_t i = 0; i < 6; ++i) {
    const RequestResult& result = (*results)[i];
    EXPECT_EQ(result.index, i);
    EXPECT_EQ(result.sample, i % 3);
    EXPECT_EQ(result.repeat, i / 3);
    ASSERT_TRUE(result.status.ok()) << result.status;
    ASSERT_EQ(result.outputs.size(), 1u);
    EXPECT_DOUBLE_EQ(result.outputs[0].max_abs_error, result.sample == 1 ? 0.5 : 0) << i;
  }
  const std::vector<std::string> lines = absl::StrSplit(out.str(), '\n', absl::SkipEmpty());
  EXPECT_EQ(lines.size(), 6u) << out.str();
}

TEST(RunAccuracyTest, KeepsRequestsInFlightAtOnce) {
  // Every call waits until `kConcurrency` calls are in flight together.
  const int concurrency = kConcurrency;
  absl::Mutex mutex;
  int in_flight = 0;
  int most = 0;
  auto infer = [&](const inference::ModelInferRequest& request) {
    absl::MutexLock lock(&mutex);
    most = std::max(most, ++in_flight);
    mutex.AwaitWithTimeout(absl::Condition(
                               +[](int* count) { return *count >= kConcurrency; }, &in_flight),
                           absl::Seconds(10));
    absl::StatusOr<inference::ModelInferResponse> response = Doubler(request);
    return response;
  };
  const std::vector<inference::ModelInferRequest> requests(concurrency, Request({1}));
  const std::vector<std::vector<HostTensor>> references(concurrency, {Floats("Y", {2})});
  AccuracyRunOptions options;
  options.concurrency = concurrency;
  absl::StatusOr<std::vector<RequestResult>> results =
      RunAccuracy(options, requests, references, infer, nullptr);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ(most, concurrency);
}

TEST(RunAccuracyTest, KeepsErrorsAndUnreadableReplies) {
  const std::vector<inference::ModelInferRequest> requests = {Request({1}), Request({2})};
  const std::vector<std::vector<HostTensor>> references = {{Floats("Y", {2})}, {Floats("Y", {4})}};
  auto infer = [&](const inference::ModelInferRequest& request)
      -> absl::StatusOr<inference::ModelInferResponse> {
    if (AsVector<float>(*RequestInputs(request)->begin())[0] == 1) {
      return absl::UnavailableError("server went away");
    }
    inference::ModelInferResponse response = *Doubler(request);
    response.add_raw_output_contents("extra");
    return response;
  };
  AccuracyRunOptions options;
  options.concurrency = 1;
  absl::StatusOr<std::vector<RequestResult>> results =
      RunAccuracy(options, requests, references, infer, nullptr);
  ASSERT_TRUE(results.ok());
  EXPECT_EQ((*results)[0].status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ((*results)[1].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*results)[0].outputs.empty());
}

TEST(RunAccuracyTest, RefusesBadArguments) {
  const std::vector<inference::ModelInferRequest> requests = {Request({1})};
  const std::vector<std::vector<HostTensor>> references = {{Floats("Y", {2})}};
  AccuracyRunOptions options;
  options.concurrency = 0;
  EXPECT_EQ(RunAccuracy(options, requests, references, Doubler, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.concurrency = 1;
  options.repeat = 0;
  EXPECT_EQ(RunAccuracy(options, requests, references, Doubler, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.repeat = 1;
  EXPECT_EQ(RunAccuracy(options, requests, {}, Doubler, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(RunAccuracy(options, {}, {}, Doubler, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace speech
