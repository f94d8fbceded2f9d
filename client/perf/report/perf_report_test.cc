#include "client/perf/report/perf_report.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using ::testing::HasSubstr;

PerfRow Row(double load, double throughput, int average_us) {
  PerfRow row;
  row.load = load;
  row.client.success_count = 10;
  row.client.inferences_per_second = throughput;
  row.client.p50 = absl::Microseconds(average_us - 1);
  row.client.p90 = absl::Microseconds(average_us + 1);
  row.client.p95 = absl::Microseconds(average_us + 2);
  row.client.p99 = absl::Microseconds(average_us + 3);
  row.client.average = absl::Microseconds(average_us);
  row.breakdown.client_send = absl::Microseconds(1);
  row.breakdown.network_server_send_recv = absl::Microseconds(2);
  row.breakdown.server_queue = absl::Microseconds(3);
  row.breakdown.server_compute_input = absl::Microseconds(4);
  row.breakdown.server_compute_infer = absl::Microseconds(5);
  row.breakdown.server_compute_output = absl::Microseconds(6);
  row.breakdown.client_recv = absl::Microseconds(7);
  row.breakdown.request_response = absl::Microseconds(8);
  row.breakdown.response_wait = absl::Microseconds(9);
  return row;
}

TEST(CsvTest, HeaderIsTritonsVerboseCsvHeader) {
  EXPECT_EQ(CsvHeader(LoadMode::kConcurrency),
            "Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,"
            "Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,"
            "p50 latency,p90 latency,p95 latency,p99 latency,Avg latency,request/response,"
            "response wait");
  EXPECT_TRUE(absl::StartsWith(CsvHeader(LoadMode::kRequestRate), "Request Rate,Inferences/"));
}

TEST(CsvTest, LineInHeaderOrderInMicroseconds) {
  EXPECT_EQ(CsvLine(Row(4, 1234.5, 500)), "4,1234.50,1,2,3,4,5,6,7,499,501,502,503,500,8,9");
  EXPECT_EQ(CsvLine(Row(12.5, 1, 500)).substr(0, 5), "12.5,");
}

TEST(CsvTest, FormatCsvHasHeaderAndOneLinePerRow) {
  const std::vector<PerfRow> rows = {Row(1, 10, 100), Row(2, 20, 100)};
  const std::vector<std::string> lines =
      absl::StrSplit(FormatCsv(rows, LoadMode::kConcurrency), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  for (const std::string& line : lines) {
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 15) << line;
  }
}

TEST(TextTest, LevelReportAndTableMentionErrorsAndInstability) {
  PerfRow row = Row(8, 100, 1000);
  row.client.error_count = 3;
  row.client.error_fraction = 0.2;
  row.stable = false;
  const std::string report = FormatLevelReport(row, LoadMode::kConcurrency);
  EXPECT_THAT(report, HasSubstr("Request concurrency: 8"));
  EXPECT_THAT(report, HasSubstr("NOT STABLE"));
  EXPECT_THAT(report, HasSubstr("Errors: 3"));
  EXPECT_THAT(report, HasSubstr("p99 latency: 1003 usec"));
  const std::vector<PerfRow> rows = {row};
  EXPECT_THAT(FormatSummaryTable(rows, LoadMode::kConcurrency), HasSubstr("unstable"));
}

TEST(TextTest, LevelReportAndTableShowTheMeanFormedBatch) {
  PerfRow row = Row(4, 100, 1000);
  row.server.inference_count = 342;
  row.server.execution_count = 100;
  EXPECT_THAT(FormatLevelReport(row, LoadMode::kConcurrency),
              HasSubstr("Mean formed batch: 3.42 (342 inferences in 100 executions)"));
  const std::vector<PerfRow> rows = {row, Row(8, 100, 1000)};
  const std::vector<std::string> lines =
      absl::StrSplit(FormatSummaryTable(rows, LoadMode::kConcurrency), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr(" batch "));
  EXPECT_THAT(lines[1], HasSubstr(" 3.42 "));
  EXPECT_THAT(lines[2], HasSubstr(" - "));
  EXPECT_THAT(FormatLevelReport(Row(8, 100, 1000), LoadMode::kConcurrency),
              HasSubstr("Mean formed batch: n/a"));
}

TEST(ChartTest, SvgHasOnePointPerRowPerSeries) {
  const std::vector<PerfRow> rows = {Row(1, 100, 1000), Row(2, 180, 1100), Row(4, 200, 2000)};
  const std::string svg = LatencyChartSvg(rows, LoadMode::kConcurrency, "a <b> & c");
  EXPECT_TRUE(absl::StartsWith(svg, "<svg"));
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  EXPECT_THAT(svg, HasSubstr("a &lt;b&gt; &amp; c"));
  size_t circles = 0;
  for (size_t at = svg.find("<circle"); at != std::string::npos; at = svg.find("<circle", at + 1)) {
    ++circles;
  }
  EXPECT_EQ(circles, 9u);
  EXPECT_THAT(svg, HasSubstr(">c 4</text>"));
  EXPECT_THAT(LatencyChartSvg({}, LoadMode::kRequestRate, "empty"), HasSubstr("</svg>"));
}

}  // namespace
}  // namespace speech
