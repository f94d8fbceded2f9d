// The accuracy checker's command line. Data set flags follow the performance analyzer's
// (--input-data, --shape, --length, --length-range, --sample-count, --seed, --sample-rate), so
// that the same data sets drive both. Parsing only; no I/O.
#ifndef SPEECH_CLIENT_ACCURACY_ACCURACY_FLAGS_H_
#define SPEECH_CLIENT_ACCURACY_ACCURACY_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "client/accuracy/accuracy_run.h"
#include "client/accuracy/compare/accuracy_metrics.h"
#include "client/perf/inputs/perf_inputs.h"

namespace speech {

// Everything the command line says. A plain value type.
struct AccuracyFlags {
  bool help = false;
  std::string url = "localhost:8001";
  // Where the reference's files are: <model_repository>/<model>/<version>/model.pt.
  std::string model_repository;
  // The LibTorch device the reference runs on.
  std::string device = "cpu";
  // The data set: model, version (empty: the repository's newest), shapes, generated or
  // recorded data. batch_size stays 1; model_batches is filled in from the configuration.
  PerfInputOptions inputs;
  AccuracyRunOptions run;
  Thresholds thresholds;
  std::string csv_file = "accuracy_metrics.csv";
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(10);
};

// Parses the arguments after the program name. INVALID_ARGUMENT with a message naming the flag
// for anything malformed; -m and --model-repository are required unless --help is given.
absl::StatusOr<AccuracyFlags> ParseAccuracyFlags(absl::Span<const std::string> args);

// The --help text, documenting every flag, the error definitions and the exit status.
std::string AccuracyUsage();

}  // namespace speech

#endif  // SPEECH_CLIENT_ACCURACY_ACCURACY_FLAGS_H_
