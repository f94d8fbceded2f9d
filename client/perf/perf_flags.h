// The performance analyzer's command line: flag names follow Triton's perf_analyzer where it has
// them (-m, -u, -i, -b, -f, -p, --concurrency-range, --request-rate-range, --shape, ...).
// Parsing only; no I/O.
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
#include "client/perf/inputs/perf_inputs.h"
#include "client/perf/report/perf_report.h"
#include "client/perf/request_schedule.h"

namespace speech {

// How the analyzer talks to the server (-i): every request (inference, metadata, configuration,
// statistics) goes over the one protocol, as with Triton's perf_analyzer.
enum class Protocol {
  kGrpc,  // KServe v2 gRPC (default)
  kHttp,  // KServe v2 HTTP/REST with Triton's binary tensor data extension
};

// "grpc" or "http".
const char* ProtocolName(Protocol protocol);

// Where -u points when it is not given: Triton's ports, 8001 for gRPC and 8000 for HTTP.
inline constexpr char kDefaultGrpcUrl[] = "localhost:8001";
inline constexpr char kDefaultHttpUrl[] = "localhost:8000";

// Everything the command line says. A plain value type.
struct PerfFlags {
  bool help = false;
  Protocol protocol = Protocol::kGrpc;
  // The server's address for `protocol`; when -u is not given, kDefaultGrpcUrl or
  // kDefaultHttpUrl. For grpc it may be a comma-separated list of replicas (see
  // InferenceClient::Options::target); for http it is one address.
  std::string url = kDefaultGrpcUrl;
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
