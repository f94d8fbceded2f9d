// The performance analyzer's command line: flag names follow Triton's perf_analyzer where it has
// them (-m, -u, -b, -f, -p, --concurrency-range, --request-rate-range, --shape, ...). Parsing
// only; no I/O.
#ifndef SPEECH_CLIENT_PERF_PERF_FLAGS_H_
#define SPEECH_CLIENT_PERF_PERF_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/perf/perf_inputs.h"
#include "client/perf/perf_report.h"
#include "client/perf/request_schedule.h"

namespace speech {

// Everything the command line says. A plain value type.
struct PerfFlags {
  bool help = false;
  std::string url = "localhost:8001";
  PerfInputOptions inputs;  // model, version, batch size, shapes, data ...
  LoadMode mode = LoadMode::kConcurrency;
  std::vector<double> load_levels = {1};  // concurrencies or request rates, in order
  RequestDistribution distribution = RequestDistribution::kConstant;
  absl::Duration measurement_interval = absl::Milliseconds(5000);
  double stability_percentage = 10;
  int max_trials = 10;
  std::optional<double> latency_percentile;
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(10);
  std::string csv_file;
  std::string latency_chart_file;
};

// "START", "START:END" or "START:END:STEP" -> START, START+STEP, ... up to END inclusive (step 1
// by default). INVALID_ARGUMENT unless 0 < START <= END and STEP > 0; `integers` also requires
// whole numbers (concurrency).
absl::StatusOr<std::vector<double>> ParseLoadRange(absl::string_view text, bool integers);

// Parses the arguments after the program name. INVALID_ARGUMENT with a message naming the flag.
// A missing -m is an error unless --help is given.
absl::StatusOr<PerfFlags> ParsePerfFlags(absl::Span<const std::string> args);

// The --help text, documenting every flag.
std::string PerfUsage();

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_PERF_FLAGS_H_
