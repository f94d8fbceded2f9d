// speech_client: a command-line client for the speech inference server (or any KServe v2 /
// Triton gRPC server). Run `speech_client --help` for the commands and flags.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/cli/asr_command.h"
#include "client/cli/pipeline_command.h"
#include "client/cli/tts_command.h"
#include "client/command_line.h"
#include "client/infer_inputs.h"
#include "client/inference_client.h"
#include "client/tensor_summary.h"
#include "client/tensor_util.h"
#include "google/protobuf/message.h"
#include "google/protobuf/text_format.h"

namespace speech {
namespace {

constexpr char kUsage[] = R"(Usage: speech_client [--url=HOST:PORT] <command> [args] [flags]

Talks to a KServe v2 / Triton-compatible gRPC inference server.

Commands:
  live                    Is the server live? Prints true/false; exit 0 if live, 3 if not.
  ready [MODEL]           Is the server (or MODEL) ready? Exit 0 if ready, 3 if not.
  health [SERVICE]        grpc.health.v1 Check ("" = whole server). Exit 0 if SERVING, 3 if not.
  server-metadata         Server name, version and extensions (text proto).
  model-metadata MODEL    Inputs and outputs of MODEL (text proto).
  model-config MODEL      Configuration of MODEL (text proto).
  stats [MODEL]           Inference statistics of MODEL, or of every model (text proto).
  index                   Models in the repository and their state (text proto).
  infer MODEL             Runs one inference (or --repeat of them) and summarises the outputs.
                          Inputs come from --input files or are generated from the model's
                          metadata: every variable (-1) dimension gets --length, the leading
                          batch dimension of a batching model gets --batch.
  tts TEXT...             Speaks TEXT (the words joined by spaces) with the tts pipeline (TEXT
                          BYTES [1, 1] -> AUDIO FP32 [1, samples], MEL FP32 [1, 80, frames]);
                          writes --out as a 16-bit PCM WAV and, with --mel-png, the mel
                          spectrogram as a picture; prints the latency and the server's time
                          per model of the pipeline.
  asr FILE.wav...         Transcribes each file with the asr pipeline (AUDIO FP32 [1, samples]
                          -> TRANSCRIPT BYTES [1, 1]), up to --concurrency at once; prints
                          FILE: "TRANSCRIPT" (LATENCY) per file in the order given, then the
                          server's time per model of the pipeline.

Common flags (--flag=value and --flag value both work):
  --url=HOST:PORT         Server address (default localhost:8001). A comma-separated list of
                          replicas' IP:PORT addresses, or a DNS name with several addresses,
                          spreads calls round-robin; UNAVAILABLE is retried on another replica.
  --timeout-ms=T          Deadline of each RPC in milliseconds (default 30000).
  --connect-timeout-ms=T  How long to wait for the connection (default 5000); a refused
                          connection fails at once.
  --version=V             Model version for model commands (default: the server's choice).
  --help, -h              Prints this text.

infer flags:
  --input=NAME:FILE       Raw little-endian bytes of input NAME (repeatable). Without --shape,
                          a single variable dimension is derived from the file size.
  --shape=NAME:D0,D1,...  Full shape of input NAME, batch dimension included (repeatable);
                          -1 dimensions get --length.
  --length=N              Size of every variable dimension (default 128).
  --batch=B               Size of the batch dimension (default 1).
  --data=random|zeros     Generated data: random floats uniform in [-1, 1] and integers
                          uniform in --int-range, or zeros (default random).
  --int-range=LO,HI       Range [LO, HI) of generated integers (default 1,100).
  --seed=S                Seed of generated data (default 0); input i uses S + i.
  --output=NAME           Output to request (repeatable; default: every output).
  --repeat=N              Sends the request N times and reports mean/p50/p99 latency
                          (default 1).

tts and asr flags:
  --model=NAME            The pipeline model (default: the command's name, tts or asr).
  --out=FILE.wav          tts: where to write the audio (required).
  --mel-png=FILE.png      tts: also writes the mel spectrogram as a PNG: time on x (2 pixels or
                          more per frame), mel channel on y (3 pixels each, low frequencies at
                          the bottom), magma-like colours from the mel's own minimum (dark) to
                          its maximum (bright).
  --sample-rate=HZ        tts: the rate written in the WAV (default 22050); asr: the rate every
                          file must have (default 16000). Audio is never resampled: asr refuses
                          another rate, and any file that is not mono, naming it.
  --concurrency=N         asr: requests in flight at once, one thread each (default 16).
  The server's time comes from ModelStatistics taken before and after the requests: per model
  whose counts moved (an ensemble and each of its composing models), the mean queue, compute
  input, infer and compute output time per request in ms. Other clients' requests in that window
  count too (the ok column shows how many requests there were).

Errors print "error: <CODE>: <message>". Exit status: 0 success, 1 RPC or I/O error,
2 usage error or an input file refused, 3 a health question answered no.
)";

const CommandLine::Spec& FlagSpec() {
  static const CommandLine::Spec* spec = new CommandLine::Spec{
      /*value_flags=*/{"url", "timeout-ms", "connect-timeout-ms", "version", "input", "shape",
                       "length", "batch", "data", "int-range", "seed", "output", "repeat", "model",
                       "out", "mel-png", "sample-rate", "concurrency"},
      /*bool_flags=*/{"help"}};
  return *spec;
}

int Fail(const absl::Status& status, int exit_code) {
  return PrintError(std::cerr, status, exit_code);
}

int UsageError(absl::string_view message) {
  Fail(absl::InvalidArgumentError(message), kExitUsage);
  std::cerr << "Run speech_client --help for usage.\n";
  return kExitUsage;
}

template <typename Proto>
int PrintResult(absl::StatusOr<Proto> result) {
  if (!result.ok()) return Fail(result.status(), kExitRpcError);
  std::string text;
  google::protobuf::TextFormat::PrintToString(*result, &text);
  std::cout << text;
  return 0;
}

int PrintAnswer(absl::string_view question, const absl::StatusOr<bool>& answer) {
  if (!answer.ok()) return Fail(answer.status(), kExitRpcError);
  std::cout << question << ": " << (*answer ? "true" : "false") << "\n";
  return *answer ? 0 : kExitNo;
}

double Percentile(const std::vector<double>& sorted, double fraction) {
  // Nearest rank.
  const size_t rank = static_cast<size_t>(std::ceil(fraction * sorted.size()));
  return sorted[std::min(sorted.size(), std::max<size_t>(rank, 1)) - 1];
}

// Fills `spec` and `repeat` from the infer flags; INVALID_ARGUMENT for a bad flag.
absl::Status ParseInferFlags(const CommandLine& args, InputSpec* spec, int64_t* repeat) {
  absl::StatusOr<int64_t> repeat_flag = args.GetInt("repeat", 1);
  if (!repeat_flag.ok()) return repeat_flag.status();
  if (*repeat_flag <= 0) return absl::InvalidArgumentError("--repeat must be positive");
  *repeat = *repeat_flag;
  absl::StatusOr<int64_t> batch = args.GetInt("batch", 1);
  if (!batch.ok()) return batch.status();
  spec->batch_size = *batch;
  absl::StatusOr<int64_t> length = args.GetInt("length", 128);
  if (!length.ok()) return length.status();
  spec->length = *length;
  absl::StatusOr<int64_t> seed = args.GetInt("seed", 0);
  if (!seed.ok()) return seed.status();
  spec->seed = static_cast<uint64_t>(*seed);
  absl::StatusOr<FillMode> mode = ParseFillMode(args.GetString("data", "random"));
  if (!mode.ok()) return mode.status();
  spec->fill_mode = *mode;
  absl::StatusOr<std::pair<int64_t, int64_t>> range =
      ParseIntRange(args.GetString("int-range", "1,100"));
  if (!range.ok()) return range.status();
  spec->int_low = range->first;
  spec->int_high = range->second;
  for (const std::string& value : args.GetAll("input")) {
    absl::StatusOr<std::pair<std::string, std::string>> input = SplitNamedValue(value);
    if (!input.ok())
      return absl::InvalidArgumentError(absl::StrCat("--input: ", input.status().message()));
    spec->files[input->first] = input->second;
  }
  if (absl::Status shapes = AddShapeFlags(args.GetAll("shape"), &spec->shapes); !shapes.ok()) {
    return shapes;
  }
  if (spec->batch_size <= 0) return absl::InvalidArgumentError("--batch must be positive");
  if (spec->length <= 0) return absl::InvalidArgumentError("--length must be positive");
  return absl::OkStatus();
}

// Runs `infer MODEL`; `spec` and `repeat` come from ParseInferFlags, checked before connecting.
int Infer(const InferenceClient& client, const CommandLine& args, const std::string& model,
          InputSpec spec, int64_t repeat, absl::Duration timeout) {
  const std::string version = args.GetString("version");

  absl::StatusOr<inference::ModelMetadataResponse> metadata = client.ModelMetadata(model, version);
  if (!metadata.ok()) return Fail(metadata.status(), kExitRpcError);
  // The configuration says for sure whether the leading -1 is a batch dimension; servers
  // without ModelConfig leave BuildInputs to guess.
  absl::StatusOr<inference::ModelConfigResponse> config = client.ModelConfig(model, version);
  if (config.ok()) spec.model_batches = config->config().max_batch_size() > 0;

  absl::StatusOr<std::vector<HostTensor>> inputs = BuildInputs(*metadata, spec);
  if (!inputs.ok()) {
    return inputs.status().code() == absl::StatusCode::kInvalidArgument
               ? UsageError(inputs.status().message())
               : Fail(inputs.status(), kExitRpcError);
  }
  const std::vector<std::string> outputs = args.GetAll("output");
  const inference::ModelInferRequest request = MakeInferRequest(model, version, *inputs, outputs);
  std::cout << "inputs:\n";
  for (const HostTensor& input : *inputs) std::cout << "  " << SummarizeTensor(input) << "\n";

  std::vector<double> latencies_ms;
  absl::StatusOr<inference::ModelInferResponse> response;
  for (int64_t i = 0; i < repeat; ++i) {
    const absl::Time start = absl::Now();
    response = client.Infer(request, timeout);
    latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    if (!response.ok()) return Fail(response.status(), kExitRpcError);
  }
  absl::StatusOr<std::vector<HostTensor>> results = OutputsFromResponse(*response);
  if (!results.ok()) return Fail(results.status(), kExitRpcError);
  std::cout << "outputs (model " << response->model_name() << " version "
            << (response->model_version().empty() ? "-" : response->model_version()) << "):\n";
  for (const HostTensor& output : *results) std::cout << "  " << SummarizeTensor(output) << "\n";

  if (latencies_ms.size() == 1) {
    std::cout << absl::StrFormat("latency: %.3f ms\n", latencies_ms[0]);
  } else {
    double sum = 0;
    for (double ms : latencies_ms) sum += ms;
    std::sort(latencies_ms.begin(), latencies_ms.end());
    std::cout << absl::StrFormat(
        "latency over %d requests: mean %.3f ms p50 %.3f ms p99 %.3f ms min %.3f ms max %.3f ms\n",
        latencies_ms.size(), sum / latencies_ms.size(), Percentile(latencies_ms, 0.5),
        Percentile(latencies_ms, 0.99), latencies_ms.front(), latencies_ms.back());
  }
  return 0;
}

// INVALID_ARGUMENT for an unknown command or the wrong number of arguments.
absl::Status CheckCommandShape(const std::vector<std::string>& positional) {
  struct CommandShape {
    const char* name;
    size_t min_args;
    size_t max_args;
  };
  constexpr size_t kAny = static_cast<size_t>(-1);
  static constexpr CommandShape kCommands[] = {
      {"live", 0, 0},           {"ready", 0, 1},        {"health", 0, 1}, {"server-metadata", 0, 0},
      {"model-metadata", 1, 1}, {"model-config", 1, 1}, {"stats", 0, 1},  {"index", 0, 0},
      {"infer", 1, 1},          {"tts", 1, kAny},       {"asr", 1, kAny},
  };
  if (positional.empty()) return absl::InvalidArgumentError("missing command");
  const std::string& command = positional[0];
  const CommandShape* shape = nullptr;
  for (const CommandShape& candidate : kCommands) {
    if (command == candidate.name) shape = &candidate;
  }
  if (shape == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("unknown command \"", command, "\""));
  }
  const size_t given = positional.size() - 1;
  if (given >= shape->min_args && given <= shape->max_args) return absl::OkStatus();
  const char* bound = shape->min_args == shape->max_args ? ""
                      : given < shape->min_args          ? "at least "
                                                         : "at most ";
  return absl::InvalidArgumentError(absl::StrCat(
      command, " takes ", bound, given < shape->min_args ? shape->min_args : shape->max_args,
      " argument(s); got ", given));
}

// What a command needs that can be checked before connecting, so that usage errors and refused
// input files need no server.
struct Prepared {
  InputSpec spec;  // infer
  int64_t repeat = 1;
  TtsOptions tts;
  AsrOptions asr;
  std::vector<WavAudio> asr_audio;
};

// Parses the flags of `command` (and reads asr's files); returns 0 to go on, or the exit code
// after printing the error.
int Prepare(const std::string& command, const CommandLine& args, Prepared* prepared) {
  const std::vector<std::string> operands(args.positional().begin() + 1, args.positional().end());
  if (command == "infer") {
    absl::Status parsed = ParseInferFlags(args, &prepared->spec, &prepared->repeat);
    if (!parsed.ok()) return UsageError(parsed.message());
  } else if (command == "tts") {
    absl::StatusOr<TtsOptions> tts = ParseTtsFlags(operands, args);
    if (!tts.ok()) return UsageError(tts.status().message());
    prepared->tts = *std::move(tts);
  } else if (command == "asr") {
    absl::StatusOr<AsrOptions> asr = ParseAsrFlags(operands, args);
    if (!asr.ok()) return UsageError(asr.status().message());
    prepared->asr = *std::move(asr);
    absl::StatusOr<std::vector<WavAudio>> audio = LoadAsrAudio(prepared->asr);
    if (!audio.ok()) return Fail(audio.status(), InputErrorExitCode(audio.status()));
    prepared->asr_audio = *std::move(audio);
  }
  return 0;
}

// Runs `command` (checked by CheckCommandShape and Prepare) on the connected client.
int RunCommand(const InferenceClient& c, const CommandLine& args, Prepared& prepared,
               absl::Duration timeout) {
  const std::vector<std::string>& positional = args.positional();
  const std::string& command = positional[0];
  const std::string arg1 = positional.size() > 1 ? positional[1] : "";
  const std::string version = args.GetString("version");
  if (command == "live") return PrintAnswer("live", c.ServerLive());
  if (command == "ready") {
    return arg1.empty() ? PrintAnswer("ready", c.ServerReady())
                        : PrintAnswer(absl::StrCat(arg1, " ready"), c.ModelReady(arg1, version));
  }
  if (command == "health") {
    absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> status =
        c.HealthCheck(arg1);
    if (!status.ok()) return Fail(status.status(), kExitRpcError);
    std::cout << "health" << (arg1.empty() ? "" : absl::StrCat(" ", arg1)) << ": "
              << grpc::health::v1::HealthCheckResponse::ServingStatus_Name(*status) << "\n";
    return *status == grpc::health::v1::HealthCheckResponse::SERVING ? 0 : kExitNo;
  }
  if (command == "server-metadata") return PrintResult(c.ServerMetadata());
  if (command == "model-metadata") return PrintResult(c.ModelMetadata(arg1, version));
  if (command == "model-config") return PrintResult(c.ModelConfig(arg1, version));
  if (command == "stats") return PrintResult(c.ModelStatistics(arg1, version));
  if (command == "index") return PrintResult(c.RepositoryIndex());
  if (command == "tts" || command == "asr") {
    PipelineContext context;
    context.client = &c;
    context.model = args.GetString("model", command);
    context.version = version;
    context.timeout = timeout;
    context.out = &std::cout;
    context.err = &std::cerr;
    return command == "tts" ? RunTts(context, prepared.tts)
                            : RunAsr(context, prepared.asr, prepared.asr_audio);
  }
  return Infer(c, args, arg1, std::move(prepared.spec), prepared.repeat, timeout);
}

int Run(const std::vector<std::string>& argv) {
  absl::StatusOr<CommandLine> args = CommandLine::Parse(argv, FlagSpec());
  if (!args.ok()) return UsageError(args.status().message());
  if (args->GetBool("help")) {
    std::cout << kUsage;
    return 0;
  }
  absl::Status shape = CheckCommandShape(args->positional());
  if (!shape.ok()) return UsageError(shape.message());

  absl::StatusOr<int64_t> timeout_ms = args->GetInt("timeout-ms", 30000);
  if (!timeout_ms.ok()) return UsageError(timeout_ms.status().message());
  if (*timeout_ms <= 0) return UsageError("--timeout-ms must be positive");
  absl::StatusOr<int64_t> connect_timeout_ms = args->GetInt("connect-timeout-ms", 5000);
  if (!connect_timeout_ms.ok()) return UsageError(connect_timeout_ms.status().message());

  Prepared prepared;
  if (int exit_code = Prepare(args->positional()[0], *args, &prepared); exit_code != 0) {
    return exit_code;
  }

  InferenceClient::Options options;
  options.target = args->GetString("url", "localhost:8001");
  options.default_deadline = absl::Milliseconds(*timeout_ms);
  absl::StatusOr<std::unique_ptr<InferenceClient>> client =
      InferenceClient::Create(std::move(options));
  if (!client.ok()) return UsageError(client.status().message());
  absl::Status connected = (*client)->WaitForConnected(absl::Milliseconds(*connect_timeout_ms));
  if (!connected.ok()) return Fail(connected, kExitRpcError);
  return RunCommand(**client, *args, prepared, absl::Milliseconds(*timeout_ms));
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  return speech::Run(std::vector<std::string>(argv + 1, argv + argc));
}
