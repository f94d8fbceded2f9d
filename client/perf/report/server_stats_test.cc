#include "client/perf/report/server_stats.h"

#include "google/protobuf/text_format.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

inference::ModelStatistics Stats(const std::string& text) {
  inference::ModelStatistics stats;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &stats)) << text;
  return stats;
}

const char kBefore[] = R"pb(
  name: "identity"
  version: "1"
  inference_count: 100
  execution_count: 40
  inference_stats {
    success { count: 100 ns: 1000000 }
    queue { count: 100 ns: 500000 }
    compute_input { count: 100 ns: 100000 }
    compute_infer { count: 100 ns: 300000 }
    compute_output { count: 100 ns: 50000 }
  })pb";

// 200 more requests in 50 more executions: queue 20 us, input 2 us, infer 30 us, output 1.5 us.
const char kAfter[] = R"pb(
  name: "identity"
  version: "1"
  inference_count: 300
  execution_count: 90
  inference_stats {
    success { count: 300 ns: 20000000 }
    queue { count: 300 ns: 4500000 }
    compute_input { count: 300 ns: 500000 }
    compute_infer { count: 300 ns: 6300000 }
    compute_output { count: 300 ns: 350000 }
  })pb";

TEST(DiffServerStatisticsTest, PerRequestAveragesOverTheWindow) {
  absl::StatusOr<ServerBreakdown> diff = DiffServerStatistics(Stats(kBefore), Stats(kAfter));
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_EQ(diff->request_count, 200);
  EXPECT_EQ(diff->inference_count, 200);
  EXPECT_EQ(diff->execution_count, 50);
  EXPECT_DOUBLE_EQ(diff->mean_batch_size(), 4.0);
  EXPECT_EQ(diff->queue, absl::Microseconds(20));
  EXPECT_EQ(diff->compute_input, absl::Microseconds(2));
  EXPECT_EQ(diff->compute_infer, absl::Microseconds(30));
  EXPECT_EQ(diff->compute_output, absl::Nanoseconds(1500));
  EXPECT_EQ(diff->compute(), absl::Nanoseconds(33500));
}

TEST(DiffServerStatisticsTest, NoNewRequestsGivesZeros) {
  absl::StatusOr<ServerBreakdown> diff = DiffServerStatistics(Stats(kAfter), Stats(kAfter));
  ASSERT_TRUE(diff.ok());
  EXPECT_EQ(diff->request_count, 0);
  EXPECT_EQ(diff->mean_batch_size(), 0);
  EXPECT_EQ(diff->queue, absl::ZeroDuration());
  EXPECT_EQ(diff->compute(), absl::ZeroDuration());
}

TEST(DiffServerStatisticsTest, CountersGoingBackwardsIsAnError) {
  absl::StatusOr<ServerBreakdown> diff = DiffServerStatistics(Stats(kAfter), Stats(kBefore));
  EXPECT_EQ(diff.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FindModelStatisticsTest, ByNameAndVersion) {
  inference::ModelStatisticsResponse response;
  *response.add_model_stats() = Stats(R"pb(name: "a" version: "1" inference_count: 1)pb");
  *response.add_model_stats() = Stats(R"pb(name: "a" version: "3" inference_count: 3)pb");
  *response.add_model_stats() = Stats(R"pb(name: "b" version: "1" inference_count: 7)pb");
  EXPECT_EQ(FindModelStatistics(response, "a")->inference_count(), 3);  // highest version
  EXPECT_EQ(FindModelStatistics(response, "a", "1")->inference_count(), 1);
  EXPECT_EQ(FindModelStatistics(response, "b")->inference_count(), 7);
  EXPECT_EQ(FindModelStatistics(response, "c").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FindModelStatistics(response, "a", "2").status().code(), absl::StatusCode::kNotFound);
}

TEST(ComposeBreakdownTest, SplitsTheClientAverage) {
  ClientSummary client;
  client.average = absl::Microseconds(100);
  client.average_send = absl::Microseconds(5);
  client.average_recv = absl::Microseconds(3);
  ServerBreakdown server;
  server.queue = absl::Microseconds(20);
  server.compute_input = absl::Microseconds(2);
  server.compute_infer = absl::Microseconds(30);
  server.compute_output = absl::Microseconds(1);
  const LatencyBreakdown b = ComposeBreakdown(client, server);
  EXPECT_EQ(b.client_send, absl::Microseconds(5));
  EXPECT_EQ(b.client_recv, absl::Microseconds(3));
  EXPECT_EQ(b.server_queue, absl::Microseconds(20));
  EXPECT_EQ(b.server_compute_input, absl::Microseconds(2));
  EXPECT_EQ(b.server_compute_infer, absl::Microseconds(30));
  EXPECT_EQ(b.server_compute_output, absl::Microseconds(1));
  EXPECT_EQ(b.network_server_send_recv, absl::Microseconds(100 - 5 - 3 - 20 - 2 - 30 - 1));
  EXPECT_EQ(b.request_response, absl::Microseconds(8));
  EXPECT_EQ(b.response_wait, absl::Microseconds(92));
  // The columns add up to the average.
  EXPECT_EQ(b.client_send + b.network_server_send_recv + b.server_queue + b.server_compute_input +
                b.server_compute_infer + b.server_compute_output + b.client_recv,
            client.average);
}

TEST(ComposeBreakdownTest, NetworkNeverNegativeAndZeroServerWithoutStatistics) {
  ClientSummary client;
  client.average = absl::Microseconds(50);
  ServerBreakdown server;
  server.compute_infer = absl::Microseconds(80);  // clocks disagree
  EXPECT_EQ(ComposeBreakdown(client, server).network_server_send_recv, absl::ZeroDuration());
  const LatencyBreakdown none = ComposeBreakdown(client, ServerBreakdown());
  EXPECT_EQ(none.network_server_send_recv, absl::Microseconds(50));
  EXPECT_EQ(none.server_queue, absl::ZeroDuration());
}

TEST(EndToEndArithmeticTest, TwoSnapshotsToColumns) {
  absl::StatusOr<ServerBreakdown> server = DiffServerStatistics(Stats(kBefore), Stats(kAfter));
  ASSERT_TRUE(server.ok());
  ClientSummary client;
  client.average = absl::Microseconds(120);
  client.average_send = absl::Microseconds(4);
  client.average_recv = absl::Microseconds(6);
  const LatencyBreakdown b = ComposeBreakdown(client, *server);
  // 120 - 4 - 6 - (20 + 2 + 30 + 1.5) = 56.5 us
  EXPECT_EQ(b.network_server_send_recv, absl::Nanoseconds(56500));
}

}  // namespace
}  // namespace speech
