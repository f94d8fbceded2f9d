#include "client/perf/profiler.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/perf/report/server_stats.h"

namespace speech {

absl::StatusOr<inference::ModelStatistics> GrpcStatisticsSource::Snapshot() {
  absl::StatusOr<inference::ModelStatisticsResponse> response =
      client_->ModelStatistics(model_, version_);
  if (!response.ok()) return response.status();
  return FindModelStatistics(*response, model_, version_);
}

absl::StatusOr<std::unique_ptr<Profiler>> Profiler::Create(Options options,
                                                           StatisticsSource* statistics,
                                                           std::ostream* progress) {
  if (options.measurement_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("measurement interval must be positive");
  }
  if (options.stability.window_count < 1) {
    return absl::InvalidArgumentError("stability window count must be positive");
  }
  if (options.max_trials < options.stability.window_count) {
    return absl::InvalidArgumentError(absl::StrCat("max trials must be at least ",
                                                   options.stability.window_count, "; was ",
                                                   options.max_trials));
  }
  if (options.stability.stability_percentage <= 0) {
    return absl::InvalidArgumentError("stability percentage must be positive");
  }
  if (progress == nullptr) return absl::InvalidArgumentError("progress stream must not be null");
  return std::unique_ptr<Profiler>(new Profiler(std::move(options), statistics, progress));
}

std::optional<inference::ModelStatistics> Profiler::Snapshot() {
  if (statistics_ == nullptr || statistics_disabled_) return std::nullopt;
  absl::StatusOr<inference::ModelStatistics> snapshot = statistics_->Snapshot();
  if (snapshot.ok()) return *std::move(snapshot);
  statistics_disabled_ = true;
  const absl::Status& status = snapshot.status();
  *progress_ << "warning: the server gives no ModelStatistics ("
             << absl::StatusCodeToString(status.code()) << (status.message().empty() ? "" : ": ")
             << status.message() << "); the server columns are reported as 0" << std::endl;
  return std::nullopt;
}

absl::StatusOr<PerfRow> Profiler::Measure(LoadMode mode, double load_value, int64_t batch_size,
                                          LoadSource* load) {
  const std::string level = absl::StrCat(LoadColumnName(mode), " ", load_value);
  *progress_ << "[perf] " << level << ": measuring windows of "
             << absl::FormatDuration(options_.measurement_interval) << std::endl;
  std::vector<std::optional<inference::ModelStatistics>> snapshots;
  std::vector<ClientWindow> windows;
  std::vector<ClientSummary> summaries;
  load->Start();
  load->TakeWindow();  // starts the first window now
  snapshots.push_back(Snapshot());
  bool stable = false;
  for (int trial = 1; trial <= options_.max_trials && !stable; ++trial) {
    options_.sleep(options_.measurement_interval);
    windows.push_back(load->TakeWindow());
    snapshots.push_back(Snapshot());
    summaries.push_back(Summarize(windows.back()));
    stable = IsStable(summaries, options_.stability);
    const ClientSummary& s = summaries.back();
    *progress_ << absl::StrFormat(
                      "[perf] %s: window %d/%d: %.1f infer/s, avg %d us, p99 %d us, errors %d%s",
                      level, trial, options_.max_trials, s.inferences_per_second,
                      absl::ToInt64Microseconds(s.average), absl::ToInt64Microseconds(s.p99),
                      s.error_count, stable ? " (stable)" : "")
               << std::endl;
    if (s.error_fraction > options_.error_warning_fraction) {
      *progress_ << absl::StrFormat("[perf] %s: %.1f%% of requests failed; first error: %s", level,
                                    100 * s.error_fraction, windows.back().first_error)
                 << std::endl;
    }
  }
  load->Stop();

  // The reported windows: the agreeing ones, or the last ones when none agreed.
  const int count = std::min<int>(options_.stability.window_count, windows.size());
  ClientWindow merged;
  merged.batch_size = batch_size;
  for (size_t i = windows.size() - count; i < windows.size(); ++i) merged.Merge(windows[i]);
  if (merged.success_count() == 0) {
    return absl::UnavailableError(
        absl::StrCat("every request failed at ", level, " (", merged.error_count, " errors",
                     merged.first_error.empty() ? "" : "; first: ", merged.first_error, ")"));
  }
  PerfRow row;
  row.load = load_value;
  row.batch_size = batch_size;
  row.client = Summarize(merged);
  row.stable = stable;
  if (!stable) {
    *progress_ << "warning: " << level << " did not stabilise within " << options_.max_trials
               << " windows (increase --measurement-interval-ms or --max-trials); reporting the "
                  "last "
               << count << std::endl;
  }
  ServerBreakdown server;
  const auto& before = snapshots[snapshots.size() - 1 - count];
  const auto& after = snapshots.back();
  if (before.has_value() && after.has_value()) {
    absl::StatusOr<ServerBreakdown> diff = DiffServerStatistics(*before, *after);
    if (diff.ok()) {
      server = *diff;
    } else {
      *progress_ << "warning: " << diff.status().message() << "; server columns are 0" << std::endl;
    }
  }
  row.breakdown = ComposeBreakdown(row.client, server);
  row.server = server;
  return row;
}

}  // namespace speech
