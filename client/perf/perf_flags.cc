#include "client/perf/perf_flags.h"

#include <cmath>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "client/command_line.h"
#include "client/infer_inputs.h"
#include "client/perf/inputs/length_range.h"

namespace speech {
namespace {

// Triton's one-letter flags and the long names they stand for.
const std::map<std::string, std::string>& ShortFlags() {
  static const auto* flags = new std::map<std::string, std::string>{
      {"-m", "--model"},
      {"-x", "--model-version"},
      {"-u", "--url"},
      {"-i", "--protocol"},
      {"-b", "--batch-size"},
      {"-f", "--csv-file"},
      {"-p", "--measurement-interval-ms"},
      {"-s", "--stability-percentage"},
      {"-r", "--max-trials"},
  };
  return *flags;
}

absl::StatusOr<double> GetDouble(const CommandLine& args, absl::string_view name, double value) {
  if (!args.Has(name)) return value;
  const std::string text = args.GetString(name);
  if (!absl::SimpleAtod(text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --", name, " needs a number; got \"", text, "\""));
  }
  return value;
}

absl::Status Positive(absl::string_view name, double value) {
  if (value > 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("flag --", name, " must be positive; was ", value));
}

// -i and -u: the protocol and the address for it.
absl::Status ParseTargetFlags(const CommandLine& args, PerfFlags* flags) {
  // Triton's perf_analyzer takes either case.
  const std::string protocol = absl::AsciiStrToLower(args.GetString("protocol", "grpc"));
  if (protocol == "grpc") {
    flags->protocol = Protocol::kGrpc;
  } else if (protocol == "http") {
    flags->protocol = Protocol::kHttp;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "flag --protocol (-i) must be grpc or http; got \"", args.GetString("protocol"), "\""));
  }
  flags->url = args.GetString(
      "url", flags->protocol == Protocol::kHttp ? kDefaultHttpUrl : kDefaultGrpcUrl);
  // Only the gRPC client balances over replicas.
  if (flags->protocol == Protocol::kHttp && absl::StrContains(flags->url, ',')) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --url (-u) takes one address with -i http; got \"", flags->url,
                     "\" (a list of replicas is for -i grpc)"));
  }
  return absl::OkStatus();
}

}  // namespace

const char* ProtocolName(Protocol protocol) {
  return protocol == Protocol::kHttp ? "http" : "grpc";
}

absl::StatusOr<std::vector<double>> ParseLoadRange(absl::string_view text, bool integers) {
  const std::vector<absl::string_view> parts = absl::StrSplit(text, ':');
  auto error = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("expected START[:END[:STEP]] with 0 < START <= END and STEP > 0",
                     integers ? " (integers)" : "", "; got \"", text, "\""));
  };
  if (parts.empty() || parts.size() > 3) return error();
  double values[3] = {0, 0, 1};
  for (size_t i = 0; i < parts.size(); ++i) {
    if (!absl::SimpleAtod(parts[i], &values[i])) return error();
    if (integers && values[i] != std::floor(values[i])) return error();
  }
  if (parts.size() == 1) values[1] = values[0];
  if (!(values[0] > 0) || values[1] < values[0] || !(values[2] > 0)) return error();
  std::vector<double> levels;
  for (double level = values[0]; level <= values[1] * (1 + 1e-9); level += values[2]) {
    levels.push_back(level);
    if (levels.size() > 10000) return error();
  }
  return levels;
}

namespace {

// "-m NAME" and the other short flags as their "--model=NAME" spellings.
absl::StatusOr<std::vector<std::string>> ExpandShortFlags(absl::Span<const std::string> raw_args) {
  std::vector<std::string> expanded;
  for (size_t i = 0; i < raw_args.size(); ++i) {
    auto it = ShortFlags().find(raw_args[i]);
    if (it == ShortFlags().end()) {
      expanded.push_back(raw_args[i]);
    } else if (i + 1 < raw_args.size()) {
      expanded.push_back(absl::StrCat(it->second, "=", raw_args[++i]));
    } else {
      return absl::InvalidArgumentError(absl::StrCat("flag ", raw_args[i], " needs a value"));
    }
  }
  return expanded;
}

const CommandLine::Spec& FlagSpec() {
  static const CommandLine::Spec* const spec = new CommandLine::Spec{
      /*value_flags=*/{"model", "model-version", "url", "protocol", "batch-size",
                       "concurrency-range", "request-rate-range", "request-distribution",
                       "measurement-interval-ms",
                       "measurement-interval", "stability-percentage", "max-trials", "percentile",
                       "csv-file", "latency-chart", "input-data", "shape", "length",
                       "length-range", "sample-count", "seed", "sample-rate",
                       "request-timeout-ms", "connect-timeout-ms"},
      /*bool_flags=*/{"help"}};
  return *spec;
}

// --concurrency-range or --request-rate-range, and --request-distribution.
absl::Status ParseLoadFlags(const CommandLine& args, PerfFlags* flags) {
  if (args.Has("concurrency-range") && args.Has("request-rate-range")) {
    return absl::InvalidArgumentError(
        "give either --concurrency-range or --request-rate-range, not both");
  }
  for (const char* name : {"request-rate-range", "concurrency-range"}) {
    if (!args.Has(name)) continue;
    const bool rate = name[0] == 'r';
    if (rate) flags->mode = LoadMode::kRequestRate;
    absl::StatusOr<std::vector<double>> levels =
        ParseLoadRange(args.GetString(name), /*integers=*/!rate);
    if (!levels.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, ": ", levels.status().message()));
    }
    flags->load_levels = *std::move(levels);
    break;
  }
  absl::StatusOr<RequestDistribution> distribution =
      ParseRequestDistribution(args.GetString("request-distribution", "constant"));
  if (!distribution.ok()) return distribution.status();
  flags->distribution = *distribution;
  return absl::OkStatus();
}

// Measurement windows, stability, trials, the reported percentile and the timeouts.
absl::Status ParseMeasurementFlags(const CommandLine& args, PerfFlags* flags) {
  // Triton spells it --measurement-interval (milliseconds); both are accepted.
  const char* interval_flag =
      args.Has("measurement-interval") ? "measurement-interval" : "measurement-interval-ms";
  absl::StatusOr<int64_t> interval_ms = args.GetInt(interval_flag, 5000);
  if (!interval_ms.ok()) return interval_ms.status();
  absl::Status positive = Positive(interval_flag, *interval_ms);
  if (!positive.ok()) return positive;
  flags->measurement_interval = absl::Milliseconds(*interval_ms);

  absl::StatusOr<double> stability = GetDouble(args, "stability-percentage", 10);
  if (!stability.ok()) return stability.status();
  if (!(positive = Positive("stability-percentage", *stability)).ok()) return positive;
  flags->stability_percentage = *stability;

  absl::StatusOr<int64_t> trials = args.GetInt("max-trials", 10);
  if (!trials.ok()) return trials.status();
  if (*trials < 3 || *trials > 1000) {
    return absl::InvalidArgumentError("flag --max-trials must be in [3, 1000]");
  }
  flags->max_trials = static_cast<int>(*trials);

  if (args.Has("percentile")) {
    absl::StatusOr<double> percentile = GetDouble(args, "percentile", 0);
    if (!percentile.ok()) return percentile.status();
    if (*percentile <= 0 || *percentile >= 100) {
      return absl::InvalidArgumentError("flag --percentile must be in (0, 100)");
    }
    flags->latency_percentile = *percentile;
  }

  for (const char* name : {"request-timeout-ms", "connect-timeout-ms"}) {
    const bool request = name[2] == 'q';
    absl::StatusOr<int64_t> ms = args.GetInt(name, request ? 30000 : 10000);
    if (!ms.ok()) return ms.status();
    if (!(positive = Positive(name, *ms)).ok()) return positive;
    (request ? flags->request_timeout : flags->connect_timeout) = absl::Milliseconds(*ms);
  }
  return absl::OkStatus();
}

// What the requests carry: --input-data, --shape, --length, --length-range, --sample-count,
// --seed, --sample-rate.
absl::Status ParseInputFlags(const CommandLine& args, PerfFlags* flags) {
  const std::string data = args.GetString("input-data", "random");
  if (data.empty()) {
    return absl::InvalidArgumentError(
        "flag --input-data needs random, zero, a JSON file or a directory; got \"\"");
  }
  if (data == "zero" || data == "zeros") {
    flags->inputs.fill_mode = FillMode::kZeros;
  } else if (data == "random") {
    flags->inputs.fill_mode = FillMode::kRandom;
  } else {
    flags->inputs.input_data = data;
  }
  if (absl::Status shapes = AddShapeFlags(args.GetAll("shape"), &flags->inputs.shapes);
      !shapes.ok()) {
    return shapes;
  }
  absl::StatusOr<int64_t> length = args.GetInt("length", flags->inputs.length);
  if (!length.ok()) return length.status();
  if (*length <= 0) return absl::InvalidArgumentError("flag --length must be positive");
  flags->inputs.length = *length;
  if (args.Has("length-range")) {
    absl::StatusOr<LengthRange> range = ParseLengthRange(args.GetString("length-range"));
    if (!range.ok()) return range.status();
    flags->inputs.length_range = *range;
  }
  absl::StatusOr<int64_t> samples = args.GetInt("sample-count", flags->inputs.sample_count);
  if (!samples.ok()) return samples.status();
  if (*samples <= 0 || *samples > 100000) {
    return absl::InvalidArgumentError("flag --sample-count must be in [1, 100000]");
  }
  flags->inputs.sample_count = static_cast<int>(*samples);
  absl::StatusOr<int64_t> seed = args.GetInt("seed", 0);
  if (!seed.ok()) return seed.status();
  flags->inputs.seed = static_cast<uint64_t>(*seed);
  absl::StatusOr<int64_t> rate = args.GetInt("sample-rate", flags->inputs.sample_rate_hz);
  if (!rate.ok()) return rate.status();
  if (*rate <= 0 || *rate > 1000000) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --sample-rate must be in [1, 1000000] Hz; was ", *rate));
  }
  flags->inputs.sample_rate_hz = static_cast<int>(*rate);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PerfFlags> ParsePerfFlags(absl::Span<const std::string> raw_args) {
  absl::StatusOr<std::vector<std::string>> expanded = ExpandShortFlags(raw_args);
  if (!expanded.ok()) return expanded.status();
  absl::StatusOr<CommandLine> parsed = CommandLine::Parse(*expanded, FlagSpec());
  if (!parsed.ok()) return parsed.status();
  const CommandLine& args = *parsed;
  PerfFlags flags;
  flags.help = args.GetBool("help");
  if (flags.help) return flags;
  if (!args.positional().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", args.positional()[0], "\""));
  }
  flags.inputs.model = args.GetString("model");
  if (flags.inputs.model.empty()) return absl::InvalidArgumentError("-m MODEL is required");
  flags.inputs.version = args.GetString("model-version");
  if (absl::Status target = ParseTargetFlags(args, &flags); !target.ok()) return target;
  flags.csv_file = args.GetString("csv-file");
  flags.latency_chart_file = args.GetString("latency-chart");

  absl::StatusOr<int64_t> batch = args.GetInt("batch-size", 1);
  if (!batch.ok()) return batch.status();
  if (*batch <= 0) return absl::InvalidArgumentError("flag --batch-size must be positive");
  flags.inputs.batch_size = *batch;

  for (auto parse : {ParseLoadFlags, ParseMeasurementFlags, ParseInputFlags}) {
    if (absl::Status status = parse(args, &flags); !status.ok()) return status;
  }
  return flags;
}

std::string PerfUsage() {
  return R"(usage: perf_analyzer -m MODEL [flags]

Measures throughput and latency of a KServe v2 / Triton inference server, over gRPC or HTTP/REST,
at one or more load levels. Each level runs measurement windows until three in a row agree within
the stability percentage in throughput and latency (or --max-trials windows pass), then reports
one row: inferences/s, p50/p90/p95/p99 and average latency, and the latency split into client
send, network+server send/recv, server queue, server compute input/infer/output and client
receive (server columns from the server's model statistics, read over the protocol measured; 0
with a warning when the server has none), and the mean batch the server formed (inferences per
model execution over the same windows). Progress goes to stderr; the summary table to stdout.

Target and model:
  -m, --model=NAME                Model to measure (required).
  -x, --model-version=V           Model version (default: the server's choice).
  -i, --protocol=grpc|http        How to talk to the server (default grpc): KServe v2 gRPC, or
                                  HTTP/REST with Triton's binary tensor data extension (POST
                                  /v2/models/MODEL/infer, a JSON header and raw tensor bytes, on
                                  keep-alive connections, one per client). Metadata,
                                  configuration and statistics are read over the same protocol.
  -u, --url=HOST:PORT             Address of the server for that protocol (default
                                  localhost:8001 for grpc, localhost:8000 for http; http also
                                  takes http://HOST:PORT). For grpc, a comma-separated list of
                                  replicas' IP:PORT addresses, or a DNS name with several
                                  addresses, spreads requests round-robin; UNAVAILABLE is
                                  retried on another replica.
  --connect-timeout-ms=MS         How long to wait for the server to answer (default 10000).
  --request-timeout-ms=MS         Deadline of each inference request (default 30000).

Load (give one of the two ranges; concurrency 1 by default):
  --concurrency-range=START[:END[:STEP]]
                                  Closed loop: that many clients, each sending its next request
                                  when the previous returns (STEP defaults to 1).
  --request-rate-range=START[:END[:STEP]]
                                  Open loop: requests per second, sent on schedule whether or not
                                  earlier ones returned.
  --request-distribution=constant|poisson
                                  Gaps between requests in request-rate mode (default constant).
  -b, --batch-size=N              Rows per request, for a batching model (default 1). Offline
                                  mode is one client with pre-formed batches:
                                  --concurrency-range=1 -b N. Inferences/s counts rows.

Measurement:
  -p, --measurement-interval-ms=MS
                                  Length of one window (default 5000; Triton's
                                  --measurement-interval is accepted too).
  -s, --stability-percentage=P    Windows agree when max/min of throughput and of latency are
                                  within P percent (default 10).
  -r, --max-trials=N              Windows per level at most (default 10, at least 3); a level
                                  that never agrees is reported from its last 3 windows, marked
                                  unstable.
  --percentile=P                  Compare this latency percentile (50, 90, 95 or 99) instead of
                                  the average when judging stability.

Input data (shapes exclude the batch dimension, as in Triton):
  --input-data=random|zero|FILE.json|DIR
                                  Generated random values (default) or zeros, or recorded
                                  requests, cycled in order:
                                  FILE.json  Triton's JSON input-data format, as NVIDIA's
                                    perf_analyzer reads it: {"data": [{"NAME": VALUE, ...}, ...]},
                                    one batch row per entry, every model input in each. VALUE
                                    is [v, ...] (the input's --shape or model shape, its one
                                    variable dimension sized by the count), {"content": [v, ...],
                                    "shape": [D, ...]} or {"b64": "<raw little-endian bytes>",
                                    "shape": [D, ...]} ("shape" optional). Values are numbers,
                                    true/false for BOOL, strings for BYTES.
                                  DIR of *.wav files  one batch row per file, in name order, for
                                    the model's single FP32 input: mono 16-bit PCM or 32-bit
                                    float at --sample-rate (never resampled or mixed down).
                                  DIR of raw little-endian files  a file per input named after
                                    it, or subdirectories of such files, one request each.
                                  With -b N, a JSON or WAV request takes N consecutive entries
                                  or files, which must have the same shapes.
  --sample-rate=HZ                The sample rate WAV inputs must have (default 16000).
  --shape=NAME:D0,D1,...          Shape of input NAME (repeatable); -1 takes --length.
  --length=N                      Size of variable dimensions not fixed by --shape (default 128).
  --length-range=MIN:MAX          Instead, each generated request draws its length uniformly
                                  from MIN..MAX (any span, e.g. 16000:560000) with --seed.
  --sample-count=N                Distinct generated requests, cycled (default 16).
  --seed=N                        Seed of generated values and lengths (default 0).

Output:
  -f, --csv-file=FILE             Write the rows as CSV with Triton perf_analyzer's columns
                                  (times in microseconds): Concurrency (or Request Rate),
                                  Inferences/Second, Client Send, Network+Server Send/Recv,
                                  Server Queue, Server Compute Input, Server Compute Infer,
                                  Server Compute Output, Client Recv, p50/p90/p95/p99 latency,
                                  Avg latency, request/response, response wait.
  --latency-chart=FILE.svg        Write an SVG chart of latency against throughput.
  -h, --help                      Print this text.

Exit status: 0 on success; 1 when the server cannot be reached, the model is unknown, a load
level has only failed requests, or an output cannot be written; 2 for a bad command line.
Failed requests never count toward throughput; they are reported separately.
)";
}

}  // namespace speech
