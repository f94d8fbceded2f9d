#include "client/accuracy/accuracy_flags.h"

#include <cmath>
#include <cstdint>
#include <map>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/accuracy/compare/tensor_compare.h"
#include "client/command_line.h"
#include "client/infer_inputs.h"
#include "client/perf/inputs/length_range.h"

namespace speech {
namespace {

const std::map<std::string, std::string>& ShortFlags() {
  static const auto* flags = new std::map<std::string, std::string>{
      {"-m", "--model"}, {"-x", "--model-version"}, {"-u", "--url"}};
  return *flags;
}

const CommandLine::Spec& FlagSpec() {
  static const CommandLine::Spec* const spec =
      new CommandLine::Spec{/*value_flags=*/{"model",
                                             "model-version",
                                             "url",
                                             "model-repository",
                                             "device",
                                             "concurrency",
                                             "repeat",
                                             "input-data",
                                             "shape",
                                             "length",
                                             "length-range",
                                             "sample-count",
                                             "seed",
                                             "int-range",
                                             "sample-rate",
                                             "max-rel-error",
                                             "max-abs-error",
                                             "csv",
                                             "request-timeout-ms",
                                             "connect-timeout-ms"},
                            /*bool_flags=*/{"help"}};
  return *spec;
}

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

// A whole number flag in [low, high].
absl::StatusOr<int64_t> GetIntIn(const CommandLine& args, absl::string_view name,
                                 int64_t default_value, int64_t low, int64_t high) {
  absl::StatusOr<int64_t> value = args.GetInt(name, default_value);
  if (!value.ok()) return value.status();
  if (*value < low || *value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --", name, " must be in [", low, ", ", high, "]; was ", *value));
  }
  return value;
}

// A non-negative number flag.
absl::StatusOr<double> GetError(const CommandLine& args, absl::string_view name) {
  const std::string text = args.GetString(name);
  double value = 0;
  if (!absl::SimpleAtod(text, &value) || !(value >= 0) || std::isinf(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag --", name, " needs a finite number >= 0; got \"", text, "\""));
  }
  return value;
}

// --concurrency, --repeat, the thresholds and the timeouts.
absl::Status ParseRunFlags(const CommandLine& args, AccuracyFlags* flags) {
  absl::StatusOr<int64_t> concurrency = GetIntIn(args, "concurrency", 16, 1, 1024);
  if (!concurrency.ok()) return concurrency.status();
  flags->run.concurrency = static_cast<int>(*concurrency);
  absl::StatusOr<int64_t> repeat = GetIntIn(args, "repeat", 1, 1, 100000);
  if (!repeat.ok()) return repeat.status();
  flags->run.repeat = static_cast<int>(*repeat);
  if (args.Has("max-rel-error")) {
    absl::StatusOr<double> error = GetError(args, "max-rel-error");
    if (!error.ok()) return error.status();
    flags->thresholds.max_rel_error = *error;
  }
  if (args.Has("max-abs-error")) {
    absl::StatusOr<double> error = GetError(args, "max-abs-error");
    if (!error.ok()) return error.status();
    flags->thresholds.max_abs_error = *error;
  }
  absl::StatusOr<int64_t> request_ms =
      GetIntIn(args, "request-timeout-ms", 30000, 1, int64_t{1} << 40);
  if (!request_ms.ok()) return request_ms.status();
  flags->request_timeout = absl::Milliseconds(*request_ms);
  absl::StatusOr<int64_t> connect_ms =
      GetIntIn(args, "connect-timeout-ms", 10000, 1, int64_t{1} << 40);
  if (!connect_ms.ok()) return connect_ms.status();
  flags->connect_timeout = absl::Milliseconds(*connect_ms);
  return absl::OkStatus();
}

// The data set: --input-data, --shape, --length, --length-range, --sample-count, --seed,
// --int-range, --sample-rate.
absl::Status ParseDataFlags(const CommandLine& args, AccuracyFlags* flags) {
  PerfInputOptions& inputs = flags->inputs;
  const std::string data = args.GetString("input-data", "random");
  if (data.empty()) {
    return absl::InvalidArgumentError(
        "flag --input-data needs random, zero, a JSON file or a directory; got \"\"");
  }
  if (data == "zero" || data == "zeros") {
    inputs.fill_mode = FillMode::kZeros;
  } else if (data != "random") {
    inputs.input_data = data;
  }
  if (absl::Status shapes = AddShapeFlags(args.GetAll("shape"), &inputs.shapes); !shapes.ok()) {
    return shapes;
  }
  absl::StatusOr<int64_t> length = GetIntIn(args, "length", inputs.length, 1, int64_t{1} << 40);
  if (!length.ok()) return length.status();
  inputs.length = *length;
  if (args.Has("length-range")) {
    absl::StatusOr<LengthRange> range = ParseLengthRange(args.GetString("length-range"));
    if (!range.ok()) return range.status();
    inputs.length_range = *range;
  }
  absl::StatusOr<int64_t> samples = GetIntIn(args, "sample-count", 16, 1, 100000);
  if (!samples.ok()) return samples.status();
  inputs.sample_count = static_cast<int>(*samples);
  absl::StatusOr<int64_t> seed = args.GetInt("seed", 0);
  if (!seed.ok()) return seed.status();
  inputs.seed = static_cast<uint64_t>(*seed);
  absl::StatusOr<std::pair<int64_t, int64_t>> range =
      ParseIntRange(args.GetString("int-range", "1,100"));
  if (!range.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--int-range: ", range.status().message()));
  }
  inputs.int_low = range->first;
  inputs.int_high = range->second;
  absl::StatusOr<int64_t> rate = GetIntIn(args, "sample-rate", inputs.sample_rate_hz, 1, 1000000);
  if (!rate.ok()) return rate.status();
  inputs.sample_rate_hz = static_cast<int>(*rate);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<AccuracyFlags> ParseAccuracyFlags(absl::Span<const std::string> raw_args) {
  absl::StatusOr<std::vector<std::string>> expanded = ExpandShortFlags(raw_args);
  if (!expanded.ok()) return expanded.status();
  absl::StatusOr<CommandLine> parsed = CommandLine::Parse(*expanded, FlagSpec());
  if (!parsed.ok()) return parsed.status();
  const CommandLine& args = *parsed;
  AccuracyFlags flags;
  flags.help = args.GetBool("help");
  if (flags.help) return flags;
  if (!args.positional().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument \"", args.positional()[0], "\""));
  }
  flags.inputs.model = args.GetString("model");
  if (flags.inputs.model.empty()) return absl::InvalidArgumentError("-m MODEL is required");
  flags.model_repository = args.GetString("model-repository");
  if (flags.model_repository.empty()) {
    return absl::InvalidArgumentError("--model-repository=DIR is required");
  }
  flags.inputs.version = args.GetString("model-version");
  flags.url = args.GetString("url", flags.url);
  flags.device = args.GetString("device", flags.device);
  flags.csv_file = args.GetString("csv", flags.csv_file);
  if (flags.csv_file.empty()) return absl::InvalidArgumentError("flag --csv needs a file name");
  for (auto parse : {ParseRunFlags, ParseDataFlags}) {
    if (absl::Status status = parse(args, &flags); !status.ok()) return status;
  }
  return flags;
}

std::string AccuracyUsage() {
  return absl::StrCat(R"(usage: accuracy_checker -m MODEL --model-repository=DIR [flags]

Checks that a KServe v2 / Triton gRPC inference server computes what the model computes: sends a
data set through the server under concurrent load (so that requests of different lengths share
padded batches) and compares EVERY output of every request with the same TorchScript model run
in-process on that request alone, unbatched and unpadded: DIR/MODEL/VERSION/model.pt with
DIR/MODEL/config.pbtxt, forward() given the configured inputs, then the batch inputs the server
would fill for a lone request (BATCH_ELEMENT_COUNT, BATCH_ITEM_SHAPE). Outputs are compared in
the shape a client sees (the config's reshape applied); shapes and datatypes must match exactly.
Progress goes to stderr, the table to stdout, the rows to --csv.

Server and model:
  -u, --url=HOST:PORT             gRPC address of the server (default localhost:8001). A
                                  comma-separated list of replicas' IP:PORT addresses, or a DNS
                                  name with several addresses, spreads requests round-robin;
                                  UNAVAILABLE is retried on another replica.
  -m, --model=NAME                Model to check (required).
  --model-repository=DIR          The repository holding the model's files (required).
  -x, --model-version=V           Version to check, sent to the server and read from DIR
                                  (default: the newest numeric directory in DIR/MODEL).
  --device=DEVICE                 LibTorch device of the reference (default cpu).
  --connect-timeout-ms=MS         How long to wait for the server (default 10000).
  --request-timeout-ms=MS         Deadline of each request (default 30000).

Load:
  --concurrency=N                 Requests in flight at once, each from its own client thread
                                  (default 16).
  --repeat=R                      Sends every request R times, spread over the clients so that
                                  batches mix (default 1).

Data set (as perf_analyzer reads it; shapes exclude the batch dimension):
  --input-data=random|zero|FILE.json|DIR
                                  Generated random values (default) or zeros; Triton's JSON
                                  input-data format ({"data": [{"NAME": VALUE, ...}, ...]}, one
                                  request per entry); a folder of *.wav files (one request per
                                  file, mono 16-bit PCM or 32-bit float at --sample-rate, for a
                                  model with one FP32 input); or a folder of raw little-endian
                                  files named after the inputs (or of such folders).
  --sample-rate=HZ                The sample rate WAV files must have (default 16000).
  --shape=NAME:D0,D1,...          Shape of input NAME (repeatable); -1 takes --length.
  --length=N                      Size of variable dimensions of generated data (default 128).
  --length-range=MIN:MAX          Instead, each generated request draws its length uniformly
                                  from MIN..MAX with --seed.
  --sample-count=N                Generated requests (default 16).
  --seed=N                        Seed of generated values and lengths (default 0).
  --int-range=LO,HI               Generated integers are uniform in [LO, HI) (default 1,100);
                                  e.g. 1,148 for FastPitch's symbol ids 1..147.

Verdict:
  --max-rel-error=E               Largest relative error a floating-point output may have
                                  (default 1e-4).
  --max-abs-error=E               Largest absolute error a floating-point output may have
                                  (default: not checked).
                                  The )",
                      kRelativeErrorDefinition, R"(.
                                  Integer and BOOL outputs (lengths, frame counts) must be
                                  equal, whatever the thresholds.
  --csv=FILE                      Where the report goes (default accuracy_metrics.csv): "# "
                                  comment lines (what ran, thresholds, the definition above),
                                  then a header and one row per output: output, datatype,
                                  comparison (exact|float), requests, elements, max_abs_error,
                                  max_rel_error, mean_abs_error (over all elements),
                                  differing_elements (elements not bit-for-bit equal in value),
                                  shape_mismatches, missing, failing_requests, worst_request,
                                  worst_sample, status (PASS|FAIL).
  -h, --help                      Print this text.

Exit status: 0 when every request returned and every output is within the thresholds; 1 when
not (the worst request is named: its index, sample, repetition and input shapes), or when the
server, the model file or the CSV file fails; 2 for a bad command line, including a
repository, model, version or data set that the flags name and that cannot be found or read.
)");
}

}  // namespace speech
