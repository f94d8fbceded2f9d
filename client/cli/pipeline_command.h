// What speech_client's pipeline commands (`tts`, `asr`) share: the exit codes, how errors are
// printed, writing an output file, and the server-side timing table from ModelStatistics taken
// before and after the command's requests.
#ifndef SPEECH_CLIENT_CLI_PIPELINE_COMMAND_H_
#define SPEECH_CLIENT_CLI_PIPELINE_COMMAND_H_

#include <ostream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/command_line.h"
#include "client/inference_client.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// speech_client's exit codes.
inline constexpr int kExitRpcError = 1;  // an RPC, reply or I/O error
inline constexpr int kExitUsage = 2;     // a usage error or an input file refused
inline constexpr int kExitNo = 3;        // a health question answered no

// Prints "error: <CODE>: <message>" to `err` and returns `exit_code`.
int PrintError(std::ostream& err, const absl::Status& status, int exit_code);

// The exit code of a failure to read an input: kExitUsage for INVALID_ARGUMENT (the file is
// there but unsuitable), kExitRpcError for the rest (missing, unreadable).
int InputErrorExitCode(const absl::Status& status);

// What a pipeline command runs with. The pointers are borrowed and must outlive the command.
struct PipelineContext {
  const InferenceClient* client = nullptr;
  std::string model;                           // the pipeline model's name
  std::string version;                         // empty: the server's choice
  absl::Duration timeout = absl::Seconds(30);  // deadline of each inference
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

// The integer flag `name` (default `default_value`); INVALID_ARGUMENT when it is not a positive
// number that fits an int.
absl::StatusOr<int> GetPositiveIntFlag(const CommandLine& args, absl::string_view name,
                                       int default_value);

// Writes `bytes` to `path`, replacing any file there; the file error naming the path.
absl::Status WriteFile(const std::string& path, absl::string_view bytes);

// "12.3 ms" below 10 ms, "123 ms" from there.
std::string FormatMs(absl::Duration duration);

// The statistics of every model at one moment, or why there are none (a server without the
// statistics extension answers UNIMPLEMENTED).
absl::StatusOr<inference::ModelStatisticsResponse> SnapshotStatistics(
    const InferenceClient& client);

// `model`, then, when its configuration says it is an ensemble, its steps' models in the order
// of its steps. Just `model` when the configuration cannot be read.
std::vector<std::string> PipelineModels(const InferenceClient& client, const std::string& model,
                                        const std::string& version);

// Takes a snapshot now and prints, to `context.out`, the server's time per request of every
// model whose statistics moved since `before`: a heading line and FormatPhaseTable's table, with
// context.model and its steps (PipelineModels) first, in pipeline order. When either snapshot
// failed, one line saying why instead.
void PrintServerTimings(const PipelineContext& context,
                        const absl::StatusOr<inference::ModelStatisticsResponse>& before);

}  // namespace speech

#endif  // SPEECH_CLIENT_CLI_PIPELINE_COMMAND_H_
