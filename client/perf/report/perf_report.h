// The performance analyzer's outputs: one row per load level as CSV with Triton perf_analyzer's
// column names, as a table for the terminal, and as an SVG chart of latency against throughput.
// Pure functions from rows to text.
#ifndef SPEECH_CLIENT_PERF_REPORT_PERF_REPORT_H_
#define SPEECH_CLIENT_PERF_REPORT_PERF_REPORT_H_

#include <string>

#include "absl/types/span.h"
#include "client/perf/report/perf_stats.h"
#include "client/perf/report/server_stats.h"

namespace speech {

// How load is applied: a fixed number of clients in a closed loop, or requests at a fixed rate.
enum class LoadMode { kConcurrency, kRequestRate };

// The result at one load level. A plain value type.
struct PerfRow {
  // The concurrency (clients) or the request rate (requests per second).
  double load = 0;
  int64_t batch_size = 1;
  ClientSummary client;
  LatencyBreakdown breakdown;
  // The server's side of the reported windows (DiffServerStatistics), including the batches it
  // formed; all zero when the server gave no statistics.
  ServerBreakdown server;
  // False when the windows never agreed within --max-trials; the row is then the last windows'.
  bool stable = true;
};

// "Concurrency" or "Request Rate": the first CSV column and the name of a load level.
const char* LoadColumnName(LoadMode mode);

// Triton perf_analyzer's CSV header (its --verbose-csv set, which starts with the default set):
// Concurrency,Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,
// Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,p50 latency,
// p90 latency,p95 latency,p99 latency,Avg latency,request/response,response wait
// Times are in microseconds, as Triton writes them. No trailing newline.
std::string CsvHeader(LoadMode mode);

// One data line for `row`, in the header's order. No trailing newline.
std::string CsvLine(const PerfRow& row);

// The header and one line per row, each ending in a newline.
std::string FormatCsv(absl::Span<const PerfRow> rows, LoadMode mode);

// The per-level report printed after a level is measured (Triton's layout, shortened), with the
// mean batch the server formed.
std::string FormatLevelReport(const PerfRow& row, LoadMode mode);

// A fixed-width table of every row for the terminal.
std::string FormatSummaryTable(absl::Span<const PerfRow> rows, LoadMode mode);

// A standalone SVG image plotting p50, p99 and average latency (ms) against throughput
// (inferences/s), one point per row, labelled with its load. Empty rows give an empty chart.
std::string LatencyChartSvg(absl::Span<const PerfRow> rows, LoadMode mode,
                            const std::string& title);

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_REPORT_PERF_REPORT_H_
