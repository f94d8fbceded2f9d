// End to end: the real speech_server with the default model repository; requests over real gRPC,
// metrics over real HTTP. Counters must equal what was sent, ModelStatistics must agree with
// /metrics, and Debian's promtool must accept the exposition.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/metrics_scrape.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using ::testing::Contains;

constexpr char kIdentity[] = "{model=\"identity\",version=\"1\"}";
constexpr char kSimple[] = "{model=\"simple\",version=\"1\"}";

std::string Failure(const std::string& model, const std::string& reason) {
  return absl::StrCat("nv_inference_request_failure{model=\"", model, "\",version=\"1\",reason=\"",
                      reason, "\"}");
}

class MetricsEndToEndTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = ServerProcess::Start("server/speech_server",
                                       {absl::StrCat("--model-repository=", kDefaultRepository)});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_GT(server_->metrics_port(), 0) << server_->Output();
    auto client = InferenceClient::Create(InferenceClient::Options{server_->grpc_target()});
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  void TearDown() override {
    client_.reset();
    if (server_ != nullptr) {
      EXPECT_EQ(server_->Stop(), 0) << server_->Output();
    }
  }

  HostTensor Input(const std::string& name, const std::string& datatype,
                   std::vector<int64_t> shape) {
    auto tensor = GenerateInput(name, datatype, shape, FillMode::kRandom, 7, 1, 100);
    EXPECT_TRUE(tensor.ok()) << tensor.status();
    return *tensor;
  }

  std::string Scrape() {
    auto reply = HttpGet(server_->metrics_port(), "/metrics");
    EXPECT_TRUE(reply.ok()) << reply.status();
    if (!reply.ok()) return "";
    EXPECT_EQ(reply->status, 200);
    return reply->body;
  }

  static double Value(const std::string& text, const std::string& series) {
    absl::StatusOr<double> value = SampleValue(text, series);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : -1;
  }

  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<InferenceClient> client_;
};

TEST_F(MetricsEndToEndTest, CountersEqualWhatWasSentAndStatisticsAgree) {
  // Successes, one at a time so that every request is a batch of its own.
  constexpr int kIdentityRequests = 20;
  int64_t identity_rows = 0;
  absl::Duration client_latency;
  for (int i = 0; i < kIdentityRequests; ++i) {
    const int64_t rows = 1 + i % 3;
    identity_rows += rows;
    const HostTensor input = Input("INPUT0", "FP32", {rows, 5 + i});
    const absl::Time start = absl::Now();
    auto reply = client_->Infer(MakeInferRequest("identity", "", {input}, {}));
    client_latency += absl::Now() - start;
    ASSERT_TRUE(reply.ok()) << reply.status();
  }
  constexpr int kSimpleRequests = 6;
  for (int i = 0; i < kSimpleRequests; ++i) {
    auto reply = client_->Infer(MakeInferRequest(
        "simple", "", {Input("INPUT0", "INT32", {2, 16}), Input("INPUT1", "INT32", {2, 16})}, {}));
    ASSERT_TRUE(reply.ok()) << reply.status();
  }
  // Known failures: invalid input for a known model is OTHER; an unknown model has no series.
  for (int i = 0; i < 3; ++i) {
    auto reply =
        client_->Infer(MakeInferRequest("identity", "", {Input("INPUT0", "INT32", {1, 4})}, {}));
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  }
  for (int i = 0; i < 2; ++i) {
    auto reply = client_->Infer(MakeInferRequest(
        "simple", "", {Input("INPUT0", "INT32", {9, 16}), Input("INPUT1", "INT32", {9, 16})}, {}));
    EXPECT_EQ(reply.status().code(), absl::StatusCode::kInvalidArgument);
  }
  auto unknown =
      client_->Infer(MakeInferRequest("nope", "", {Input("INPUT0", "FP32", {1, 4})}, {}));
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);

  const std::string text = Scrape();
  const std::string id = kIdentity;
  EXPECT_EQ(Value(text, "nv_inference_request_success" + id), kIdentityRequests);
  EXPECT_EQ(Value(text, "nv_inference_count" + id), identity_rows);
  EXPECT_EQ(Value(text, "nv_inference_exec_count" + id), kIdentityRequests);
  EXPECT_EQ(Value(text, Failure("identity", "OTHER")), 3);
  for (const char* reason : {"REJECTED", "CANCELED", "BACKEND"}) {
    EXPECT_EQ(Value(text, Failure("identity", reason)), 0) << reason;
    EXPECT_EQ(Value(text, Failure("simple", reason)), 0) << reason;
  }
  EXPECT_EQ(Value(text, "nv_inference_pending_request_count" + id), 0);
  EXPECT_EQ(Value(text, "speech_request_duration_seconds_count" + id), kIdentityRequests);
  EXPECT_EQ(Value(text, "speech_queue_duration_seconds_count" + id), kIdentityRequests);
  EXPECT_EQ(Value(text, "speech_batch_size_count" + id), kIdentityRequests);
  EXPECT_EQ(Value(text, "speech_batch_size_sum" + id), identity_rows);
  EXPECT_EQ(Value(text,
                  "speech_request_duration_seconds_bucket{model=\"identity\",version=\"1\","
                  "le=\"+Inf\"}"),
            kIdentityRequests);
  EXPECT_EQ(Value(text, "nv_inference_request_success" + std::string(kSimple)), kSimpleRequests);
  EXPECT_EQ(Value(text, "nv_inference_count" + std::string(kSimple)), 2 * kSimpleRequests);
  EXPECT_EQ(Value(text, Failure("simple", "OTHER")), 2);
  EXPECT_EQ(text.find("model=\"nope\""), std::string::npos);

  // ModelStatistics reads the same counters.
  auto statistics = client_->ModelStatistics("identity");
  ASSERT_TRUE(statistics.ok()) << statistics.status();
  ASSERT_EQ(statistics->model_stats_size(), 1);
  const inference::ModelStatistics& stats = statistics->model_stats(0);
  EXPECT_EQ(stats.name(), "identity");
  EXPECT_EQ(stats.version(), "1");
  EXPECT_EQ(stats.inference_count(), static_cast<uint64_t>(identity_rows));
  EXPECT_EQ(stats.execution_count(), static_cast<uint64_t>(kIdentityRequests));
  EXPECT_GT(stats.last_inference(), 0u);
  EXPECT_LE(stats.last_inference(), static_cast<uint64_t>(absl::ToUnixMillis(absl::Now())));
  const inference::InferStatistics& infer = stats.inference_stats();
  EXPECT_EQ(infer.success().count(), static_cast<uint64_t>(kIdentityRequests));
  EXPECT_EQ(infer.fail().count(), 3u);
  EXPECT_EQ(infer.queue().count(), static_cast<uint64_t>(kIdentityRequests));
  EXPECT_EQ(infer.success().ns() / 1000, Value(text, "nv_inference_request_duration_us" + id));
  EXPECT_EQ(infer.queue().ns() / 1000, Value(text, "nv_inference_queue_duration_us" + id));
  EXPECT_EQ(infer.compute_input().ns() / 1000,
            Value(text, "nv_inference_compute_input_duration_us" + id));
  EXPECT_EQ(infer.compute_infer().ns() / 1000,
            Value(text, "nv_inference_compute_infer_duration_us" + id));
  EXPECT_EQ(infer.compute_output().ns() / 1000,
            Value(text, "nv_inference_compute_output_duration_us" + id));
  EXPECT_NEAR(infer.success().ns() / 1e9, Value(text, "speech_request_duration_seconds_sum" + id),
              1e-6);
  // Phases are disjoint parts of each request; the client saw each request end to end.
  EXPECT_GE(infer.success().ns(), infer.queue().ns() + infer.compute_input().ns() +
                                      infer.compute_infer().ns() + infer.compute_output().ns());
  EXPECT_GT(infer.compute_infer().ns(), 0u);
  EXPECT_GE(absl::ToInt64Nanoseconds(client_latency), static_cast<int64_t>(infer.success().ns()));
  uint64_t executions = 0;
  uint64_t rows = 0;
  for (const inference::InferBatchStatistics& batch : stats.batch_stats()) {
    executions += batch.compute_infer().count();
    rows += batch.batch_size() * batch.compute_infer().count();
  }
  EXPECT_EQ(executions, static_cast<uint64_t>(kIdentityRequests));
  EXPECT_EQ(rows, static_cast<uint64_t>(identity_rows));

  auto all = client_->ModelStatistics();
  ASSERT_TRUE(all.ok()) << all.status();
  std::vector<std::string> names;
  for (const auto& model : all->model_stats()) names.push_back(model.name());
  // Triton lists ensembles beside the models they compose, all in name order.
  EXPECT_THAT(names, ::testing::ElementsAre("asr", "ctc_decoder", "fastpitch", "hifigan",
                                            "identity", "simple", "simple_identity",
                                            "simple_string", "tts", "tts_frontend", "wav2vec2"));
  EXPECT_EQ(client_->ModelStatistics("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->ModelStatistics("identity", "7").status().code(), absl::StatusCode::kNotFound);
  auto metadata = client_->ServerMetadata();
  ASSERT_TRUE(metadata.ok());
  EXPECT_THAT(metadata->extensions(), Contains("statistics"));
}

// wav2vec2's AUDIO has ragged_padding with bucket_fraction 1/16: even a lone utterance of 16,001
// samples runs padded to 16,384 (steps of 512), which the padding histogram shows, while its reply
// keeps its own frames.
TEST_F(MetricsEndToEndTest, ALoneUtteranceRunsPaddedToItsBucket) {
  auto reply =
      client_->Infer(MakeInferRequest("wav2vec2", "", {Input("AUDIO", "FP32", {1, 16001})}, {}));
  ASSERT_TRUE(reply.ok()) << reply.status();
  absl::StatusOr<std::vector<HostTensor>> outputs = OutputsFromResponse(*reply);
  ASSERT_TRUE(outputs.ok()) << outputs.status();
  ASSERT_EQ(outputs->size(), 2u);
  const int64_t frames = AsVector<int64_t>((*outputs)[1]).at(0);
  EXPECT_EQ(frames, 49);  // (16001 - 400) / 320 + 1: the utterance's own, not its bucket's (50)
  EXPECT_EQ((*outputs)[0].shape, (std::vector<int64_t>{1, frames, 32}));
  const std::string text = Scrape();
  constexpr char kWav2vec2[] = "{model=\"wav2vec2\",version=\"1\"}";
  EXPECT_EQ(Value(text, absl::StrCat("speech_batch_padding_ratio_count", kWav2vec2)), 1);
  // (16384 - 16001) / 16001 = 0.0239, recorded in thousandths.
  EXPECT_NEAR(Value(text, absl::StrCat("speech_batch_padding_ratio_sum", kWav2vec2)), 0.023, 1e-9);
}

TEST_F(MetricsEndToEndTest, UnknownPathsAre404) {
  for (const char* path : {"/", "/metric", "/metrics/x", "/v2/health/ready"}) {
    auto reply = HttpGet(server_->metrics_port(), path);
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->status, 404) << path;
  }
}

// promtool parses the exposition (exit 1 on a format error) and lints it (exit 3). The only lint
// findings allowed are on Triton's own names, which we keep for compatibility (no "_total", "_us"
// units); our own metrics must be clean.
TEST_F(MetricsEndToEndTest, PromtoolAcceptsTheExposition) {
  auto reply =
      client_->Infer(MakeInferRequest("identity", "", {Input("INPUT0", "FP32", {2, 3})}, {}));
  ASSERT_TRUE(reply.ok()) << reply.status();
  const std::string text = Scrape();
  const std::string dir =
      std::getenv("TEST_TMPDIR") != nullptr ? std::getenv("TEST_TMPDIR") : "/tmp";
  const std::string input = dir + "/exposition.txt";
  const std::string output = dir + "/promtool.txt";
  std::ofstream(input) << text;
  const int status = std::system(
      absl::StrCat("/usr/bin/promtool check metrics < ", input, " > ", output, " 2>&1").c_str());
  ASSERT_TRUE(WIFEXITED(status));
  std::ifstream stream(output);
  const std::string findings((std::istreambuf_iterator<char>(stream)),
                             std::istreambuf_iterator<char>());
  EXPECT_THAT(WEXITSTATUS(status), ::testing::AnyOf(0, 3)) << findings;
  for (absl::string_view line : absl::StrSplit(findings, '\n', absl::SkipEmpty())) {
    EXPECT_TRUE(absl::StartsWith(line, "nv_inference_")) << line;
  }
}

}  // namespace
}  // namespace speech
