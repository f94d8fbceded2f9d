#include "server/metrics/store/registry.h"

#include <limits>
#include <optional>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

TEST(FormatMetricValueTest, ShortestRoundTripAndSpecials) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(42), "42");
  EXPECT_EQ(FormatMetricValue(0.00025), "0.00025");
  EXPECT_EQ(FormatMetricValue(1e21), "1e+21");
  EXPECT_EQ(FormatMetricValue(1.5e-9), "1.5e-09");
  EXPECT_EQ(FormatMetricValue(-2.5), "-2.5");
  EXPECT_EQ(FormatMetricValue(100000 / 1e9), "0.0001");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(EscapeLabelValueTest, EscapesBackslashQuoteAndNewline) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
}

TEST(MetricRegistryTest, ExposesExactText) {
  MetricRegistry registry;
  auto requests = registry.AddCounter("requests", "Requests served.\nSecond line \\ here",
                                      {"model", "version"});
  ASSERT_TRUE(requests.ok()) << requests.status();
  auto duration_us = registry.AddCounter("duration_us", "Time in us", {}, 1000);
  ASSERT_TRUE(duration_us.ok());
  auto depth = registry.AddGauge("depth", "Queue depth", {"model"});
  ASSERT_TRUE(depth.ok());
  auto buckets = HistogramBuckets::Create({250000, 1000000}, 1e9);
  ASSERT_TRUE(buckets.ok());
  auto latency = registry.AddHistogram("latency_seconds", "Latency", {"model"}, *buckets);
  ASSERT_TRUE(latency.ok());
  auto unused = registry.AddCounter("unused", "No series", {"x"});
  ASSERT_TRUE(unused.ok());

  (*requests)->Add({"id\"entity", "1"})->Increment(3);
  (*requests)->Add({"simple", "2"});
  (*duration_us)->Add({})->Increment(2999);  // 2.999 us shows as 2
  (*depth)->Add({"a"}, [] { return std::optional<double>(1.5); });
  (*depth)->Add({"b"}, [] { return std::optional<double>(); });  // left out
  Histogram* histogram = (*latency)->Add({"m"});
  histogram->Observe(250000);   // on the first bound
  histogram->Observe(250001);   // second bucket
  histogram->Observe(2000000);  // +Inf
  EXPECT_EQ((*requests)->Add({"id\"entity", "1"}), (*requests)->Add({"id\"entity", "1"}));

  EXPECT_EQ(registry.Expose(),
            "# HELP requests Requests served.\\nSecond line \\\\ here\n"
            "# TYPE requests counter\n"
            "requests{model=\"id\\\"entity\",version=\"1\"} 3\n"
            "requests{model=\"simple\",version=\"2\"} 0\n"
            "# HELP duration_us Time in us\n"
            "# TYPE duration_us counter\n"
            "duration_us 2\n"
            "# HELP depth Queue depth\n"
            "# TYPE depth gauge\n"
            "depth{model=\"a\"} 1.5\n"
            "# HELP latency_seconds Latency\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{model=\"m\",le=\"0.00025\"} 1\n"
            "latency_seconds_bucket{model=\"m\",le=\"0.001\"} 2\n"
            "latency_seconds_bucket{model=\"m\",le=\"+Inf\"} 3\n"
            "latency_seconds_sum{model=\"m\"} 0.002500001\n"
            "latency_seconds_count{model=\"m\"} 3\n");
}

TEST(MetricRegistryTest, HistogramWithoutLabels) {
  MetricRegistry registry;
  auto buckets = HistogramBuckets::Create({1, 2}, 1);
  ASSERT_TRUE(buckets.ok());
  auto sizes = registry.AddHistogram("sizes", "Sizes", {}, *buckets);
  ASSERT_TRUE(sizes.ok());
  (*sizes)->Add({})->Observe(2);
  EXPECT_EQ(registry.Expose(),
            "# HELP sizes Sizes\n# TYPE sizes histogram\n"
            "sizes_bucket{le=\"1\"} 0\nsizes_bucket{le=\"2\"} 1\nsizes_bucket{le=\"+Inf\"} 1\n"
            "sizes_sum 2\nsizes_count 1\n");
}

TEST(MetricRegistryTest, RejectsBadNamesAndDuplicates) {
  MetricRegistry registry;
  EXPECT_EQ(registry.AddCounter("1abc", "", {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("a-b", "", {}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok", "", {"__reserved"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.AddCounter("ok", "", {"a:b"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(registry.AddCounter("ok", "", {"m", "m"}).status().message(),
              HasSubstr("label 'm' repeated"));
  EXPECT_EQ(registry.AddCounter("ok", "", {}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto buckets = HistogramBuckets::Create({1}, 1);
  ASSERT_TRUE(buckets.ok());
  EXPECT_EQ(registry.AddHistogram("h", "", {"le"}, *buckets).status().code(),
            absl::StatusCode::kInvalidArgument);
  ASSERT_TRUE(registry.AddCounter("ok:name_1", "", {"m"}).ok());
  EXPECT_EQ(registry.AddGauge("ok:name_1", "", {}).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(MetricRegistryTest, DerivedCounterIsReadAtExpositionAndDivided) {
  MetricRegistry registry;
  auto total_us = registry.AddCounter("total_us", "Total", {"model"}, 1000);
  ASSERT_TRUE(total_us.ok());
  uint64_t nanos = 4999;
  (*total_us)->AddDerived({"m"}, [&nanos] { return nanos; });
  EXPECT_THAT(registry.Expose(), HasSubstr("total_us{model=\"m\"} 4\n"));
  nanos = 12000;  // read again at the next exposition
  EXPECT_THAT(registry.Expose(), HasSubstr("total_us{model=\"m\"} 12\n"));
  // A model loaded again replaces its reader rather than adding a second series.
  (*total_us)->AddDerived({"m"}, [] { return uint64_t{7000}; });
  const std::string text = registry.Expose();
  EXPECT_THAT(text, HasSubstr("total_us{model=\"m\"} 7\n"));
  EXPECT_EQ(text.find("total_us{"), text.rfind("total_us{"));
}

TEST(MetricRegistryDeathTest, SeriesIsEitherCountedOrDerived) {
  MetricRegistry registry;
  auto family = registry.AddCounter("c", "", {"a"});
  ASSERT_TRUE(family.ok());
  (*family)->Add({"counted"});
  (*family)->AddDerived({"derived"}, [] { return uint64_t{1}; });
  EXPECT_DEATH((*family)->Add({"derived"}), "both derived and counted");
  EXPECT_DEATH((*family)->AddDerived({"counted"}, [] { return uint64_t{1}; }),
               "both counted and derived");
}

TEST(MetricRegistryDeathTest, WrongLabelCountCrashes) {
  MetricRegistry registry;
  auto family = registry.AddCounter("c", "", {"a", "b"});
  ASSERT_TRUE(family.ok());
  EXPECT_DEATH((*family)->Add({"only one"}), "has 2 labels");
}

}  // namespace
}  // namespace speech
