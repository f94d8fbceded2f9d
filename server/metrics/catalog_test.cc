#include "server/metrics/catalog.h"

#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsCatalogTest, DurationBucketsSpan100MicrosecondsTo10Seconds) {
  const std::vector<int64_t> bounds = MetricsCatalog::DurationBucketsNs();
  ASSERT_FALSE(bounds.empty());
  EXPECT_EQ(bounds.front(), 100000);
  EXPECT_EQ(bounds.back(), 10000000000);
  EXPECT_TRUE(HistogramBuckets::Create(bounds, 1e9).ok());
  EXPECT_TRUE(HistogramBuckets::Create(MetricsCatalog::BatchSizeBuckets(), 1).ok());
}

TEST(MetricsCatalogTest, AModelGetsEveryTritonSeriesAndOurHistograms) {
  MetricsCatalog::Options options;
  options.gpu_metrics = false;
  auto catalog = MetricsCatalog::Create(options);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  EXPECT_EQ((*catalog)->gpu_count(), 0);
  // Nothing but families without series: an empty exposition.
  EXPECT_EQ((*catalog)->Expose(), "");

  std::unique_ptr<ModelStats> stats = (*catalog)->AddModel("tts", "2", 8);
  (*catalog)->AddQueueDepth("tts", "2", [] { return std::optional<int64_t>(5); });
  // A version no longer served reads nothing and leaves the exposition.
  (*catalog)->AddQueueDepth("tts", "1", [] { return std::optional<int64_t>(); });
  stats->RecordFailure(FailureReason::kRejected, absl::Now(), absl::Now());
  const std::string text = (*catalog)->Expose();
  const std::string labels = "{model=\"tts\",version=\"2\"}";
  for (const char* name :
       {"nv_inference_request_success", "nv_inference_count", "nv_inference_exec_count",
        "nv_inference_request_duration_us", "nv_inference_queue_duration_us",
        "nv_inference_compute_input_duration_us", "nv_inference_compute_infer_duration_us",
        "nv_inference_compute_output_duration_us"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("# TYPE ", name, " counter\n", name, labels, " 0\n")));
  }
  EXPECT_THAT(text, HasSubstr("nv_inference_pending_request_count" + labels + " 5\n"));
  EXPECT_THAT(text,
              Not(HasSubstr("nv_inference_pending_request_count{model=\"tts\",version=\"1\"}")));
  EXPECT_THAT(text, HasSubstr("nv_inference_request_failure{model=\"tts\",version=\"2\","
                              "reason=\"REJECTED\"} 1\n"));
  for (const char* reason : {"CANCELED", "BACKEND", "OTHER"}) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("reason=\"", reason, "\"} 0\n")));
  }
  for (const char* name :
       {"speech_request_duration_seconds", "speech_queue_duration_seconds",
        "speech_compute_input_duration_seconds", "speech_compute_infer_duration_seconds",
        "speech_compute_output_duration_seconds"}) {
    EXPECT_THAT(text,
                HasSubstr(absl::StrCat("# TYPE ", name, " histogram\n", name,
                                       "_bucket{model=\"tts\",version=\"2\",le=\"0.0001\"} 0\n")));
    EXPECT_THAT(
        text, HasSubstr(absl::StrCat(name, "_bucket{model=\"tts\",version=\"2\",le=\"10\"} 0\n")));
    EXPECT_THAT(text, HasSubstr(absl::StrCat(
                          name, "_bucket{model=\"tts\",version=\"2\",le=\"+Inf\"} 0\n")));
  }
  EXPECT_THAT(text,
              HasSubstr("speech_batch_size_bucket{model=\"tts\",version=\"2\",le=\"1\"} 0\n"));
  EXPECT_THAT(text, Not(HasSubstr("nv_gpu_")));
}

TEST(MetricsCatalogTest, TritonCountersAreTheHistogramsCountsAndSums) {
  MetricsCatalog::Options options;
  options.gpu_metrics = false;
  auto catalog = MetricsCatalog::Create(options);
  ASSERT_TRUE(catalog.ok()) << catalog.status();
  std::unique_ptr<ModelStats> stats = (*catalog)->AddModel("asr", "1", 8);
  const absl::Time t0 = absl::FromUnixMillis(1700000000000);
  InferenceRequest request;
  request.batch_rows = 2;
  PhaseTimes& t = request.times;
  t.arrival = t0;
  t.dispatch = t0 + absl::Microseconds(30);
  t.compute_input_start = t.dispatch;
  t.compute_input_end = t.compute_infer_start = t0 + absl::Microseconds(40);
  t.compute_infer_end = t.compute_output_start = t0 + absl::Microseconds(1040);
  t.compute_output_end = t0 + absl::Microseconds(1045);
  InferenceRequest* batch[] = {&request};
  // Recorded from two threads, so on two shards.
  for (int i = 0; i < 2; ++i) {
    std::thread([&] {
      stats->RecordExecution(batch);
      stats->RecordCompletion(request, absl::OkStatus(), t0, t0 + absl::Microseconds(1500));
    }).join();
  }
  const std::string text = (*catalog)->Expose();
  const std::string labels = "{model=\"asr\",version=\"1\"}";
  EXPECT_THAT(text, HasSubstr("nv_inference_request_success" + labels + " 2\n"));
  EXPECT_THAT(text, HasSubstr("speech_request_duration_seconds_count" + labels + " 2\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_exec_count" + labels + " 2\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_count" + labels + " 4\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_request_duration_us" + labels + " 3000\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_queue_duration_us" + labels + " 60\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_compute_input_duration_us" + labels + " 20\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_compute_infer_duration_us" + labels + " 2000\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_compute_output_duration_us" + labels + " 10\n"));

  // Loaded again (same name and version): the same series, the counts carry on.
  std::unique_ptr<ModelStats> again = (*catalog)->AddModel("asr", "1", 8);
  again->RecordExecution(batch);
  again->RecordCompletion(request, absl::OkStatus(), t0, t0 + absl::Microseconds(1500));
  const std::string after = (*catalog)->Expose();
  EXPECT_THAT(after, HasSubstr("nv_inference_request_success" + labels + " 3\n"));
  EXPECT_THAT(after, HasSubstr("nv_inference_request_duration_us" + labels + " 4500\n"));
  EXPECT_EQ(after.find("nv_inference_request_success{"),
            after.rfind("nv_inference_request_success{"));
}

}  // namespace
}  // namespace speech
