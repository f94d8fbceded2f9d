// The server side of the latency breakdown: the difference of two ModelStatistics snapshots taken
// at the edges of a measurement window, as per-request averages, and how the client's latency
// splits into Triton perf_analyzer's columns. Pure functions over plain values.
#ifndef SPEECH_CLIENT_PERF_REPORT_SERVER_STATS_H_
#define SPEECH_CLIENT_PERF_REPORT_SERVER_STATS_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/perf/report/perf_stats.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// What the server spent per request during a window. All zero when the server gave no
// statistics. A plain value type.
struct ServerBreakdown {
  // Requests the server finished successfully in the window, batch elements it inferred (rows:
  // a request of batch size 4 counts 4) and model executions (batches).
  int64_t request_count = 0;
  int64_t inference_count = 0;
  int64_t execution_count = 0;
  // Average time per request in each phase: the phase's accumulated nanoseconds divided by its
  // request count over the window (zero when the count did not move).
  absl::Duration queue = absl::ZeroDuration();
  absl::Duration compute_input = absl::ZeroDuration();
  absl::Duration compute_infer = absl::ZeroDuration();
  absl::Duration compute_output = absl::ZeroDuration();

  absl::Duration compute() const { return compute_input + compute_infer + compute_output; }

  // The mean batch the server formed: inferences per execution over the window; 0 when it
  // executed nothing.
  double mean_batch_size() const {
    return execution_count > 0 ? static_cast<double>(inference_count) / execution_count : 0;
  }
};

// The entry of `response` for model `name` and `version` (`version` empty: the only entry with
// that name, or the one with the highest version number). NOT_FOUND when there is none.
absl::StatusOr<inference::ModelStatistics> FindModelStatistics(
    const inference::ModelStatisticsResponse& response, absl::string_view name,
    absl::string_view version = "");

// The per-request averages between snapshot `before` and the later snapshot `after` of the same
// model. FAILED_PRECONDITION when a counter went backwards (the server restarted in between).
absl::StatusOr<ServerBreakdown> DiffServerStatistics(const inference::ModelStatistics& before,
                                                     const inference::ModelStatistics& after);

// Triton perf_analyzer's columns, in its order, all per-request averages.
struct LatencyBreakdown {
  absl::Duration client_send = absl::ZeroDuration();
  // The client's wait that the server's phases do not explain: network, gRPC, decoding and
  // encoding. Never negative (the two sides measure with different clocks).
  absl::Duration network_server_send_recv = absl::ZeroDuration();
  absl::Duration server_queue = absl::ZeroDuration();
  absl::Duration server_compute_input = absl::ZeroDuration();
  absl::Duration server_compute_infer = absl::ZeroDuration();
  absl::Duration server_compute_output = absl::ZeroDuration();
  absl::Duration client_recv = absl::ZeroDuration();
  // Triton's verbose-CSV extras: send + receive ("request/response"), and the average latency
  // less send and receive ("response wait").
  absl::Duration request_response = absl::ZeroDuration();
  absl::Duration response_wait = absl::ZeroDuration();
};

// Splits the client's average latency in `client` using `server`'s phases.
LatencyBreakdown ComposeBreakdown(const ClientSummary& client, const ServerBreakdown& server);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_REPORT_SERVER_STATS_H_
