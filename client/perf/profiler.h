// The measurement loop of the performance analyzer for one load level: measures consecutive
// windows until the last few agree (perf_stats.h's IsStable) or the trials run out, and turns
// the agreeing windows and the server's statistics around them into one PerfRow.
#ifndef SPEECH_CLIENT_PERF_PROFILER_H_
#define SPEECH_CLIENT_PERF_PROFILER_H_

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/inference_client.h"
#include "client/perf/load_generator.h"
#include "client/perf/report/perf_report.h"
#include "client/perf/report/perf_stats.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// Where the server's cumulative statistics of the measured model come from.
class StatisticsSource {
 public:
  virtual ~StatisticsSource() = default;
  virtual absl::StatusOr<inference::ModelStatistics> Snapshot() = 0;
};

// ModelStatistics over the client library. Thread-safe; borrows the client.
class GrpcStatisticsSource final : public StatisticsSource {
 public:
  GrpcStatisticsSource(const InferenceClient* client, std::string model, std::string version)
      : client_(client), model_(std::move(model)), version_(std::move(version)) {}
  absl::StatusOr<inference::ModelStatistics> Snapshot() override;

 private:
  const InferenceClient* const client_;
  const std::string model_;
  const std::string version_;
};

// Not thread-safe: one thread measures one level after another. Borrows the statistics source
// and the progress stream, which must outlive it.
class Profiler {
 public:
  struct Options {
    // Length of one measurement window. Must be positive.
    absl::Duration measurement_interval = absl::Seconds(5);
    // When windows agree.
    StabilityCriterion stability;
    // Windows measured at most per level before reporting an unstable result. Must be at least
    // stability.window_count.
    int max_trials = 10;
    // A window whose share of failed requests is above this is reported as failing.
    double error_warning_fraction = 0.01;
    // How the loop waits for a window to pass; tests replace it.
    std::function<void(absl::Duration)> sleep = [](absl::Duration d) { absl::SleepFor(d); };
  };

  // INVALID_ARGUMENT for bad options. `statistics` may be null (no server columns); `progress`
  // (for example &std::cerr) must not be.
  static absl::StatusOr<std::unique_ptr<Profiler>> Create(Options options,
                                                          StatisticsSource* statistics,
                                                          std::ostream* progress);

  // Starts `load`, measures until stable or out of trials, stops it. `load_value` and
  // `batch_size` label the row. UNAVAILABLE (quoting the first error) when no request succeeded
  // in the windows reported.
  absl::StatusOr<PerfRow> Measure(LoadMode mode, double load_value, int64_t batch_size,
                                  LoadSource* load);

 private:
  Profiler(Options options, StatisticsSource* statistics, std::ostream* progress)
      : options_(std::move(options)), statistics_(statistics), progress_(progress) {}

  // The server's statistics now, or nullopt when it has none (warned about once).
  std::optional<inference::ModelStatistics> Snapshot();

  const Options options_;
  StatisticsSource* const statistics_;
  std::ostream* const progress_;
  bool statistics_disabled_ = false;
};

}  // namespace speech

#endif  // SPEECH_CLIENT_PERF_PROFILER_H_
