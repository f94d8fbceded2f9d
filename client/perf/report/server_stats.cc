#include "client/perf/report/server_stats.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

int64_t VersionNumber(const std::string& version) {
  int64_t number = -1;
  return absl::SimpleAtoi(version, &number) ? number : -1;
}

// Average nanoseconds per count of `after - before`; `ok` turns false when a field went back.
absl::Duration AverageDelta(const inference::StatisticDuration& before,
                            const inference::StatisticDuration& after, bool& ok) {
  if (after.count() < before.count() || after.ns() < before.ns()) {
    ok = false;
    return absl::ZeroDuration();
  }
  const uint64_t count = after.count() - before.count();
  if (count == 0) return absl::ZeroDuration();
  return absl::Nanoseconds(static_cast<double>(after.ns() - before.ns()) / count);
}

}  // namespace

absl::StatusOr<inference::ModelStatistics> FindModelStatistics(
    const inference::ModelStatisticsResponse& response, absl::string_view name,
    absl::string_view version) {
  const inference::ModelStatistics* best = nullptr;
  for (const inference::ModelStatistics& stats : response.model_stats()) {
    if (stats.name() != name) continue;
    if (!version.empty()) {
      if (stats.version() == version) return stats;
      continue;
    }
    if (best == nullptr || VersionNumber(stats.version()) > VersionNumber(best->version())) {
      best = &stats;
    }
  }
  if (best == nullptr) {
    return absl::NotFoundError(absl::StrCat("no statistics for model \"", name, "\"",
                                            version.empty() ? "" : " version ", version));
  }
  return *best;
}

absl::StatusOr<ServerBreakdown> DiffServerStatistics(const inference::ModelStatistics& before,
                                                     const inference::ModelStatistics& after) {
  const inference::InferStatistics& b = before.inference_stats();
  const inference::InferStatistics& a = after.inference_stats();
  bool ok = after.execution_count() >= before.execution_count() &&
            after.inference_count() >= before.inference_count() &&
            a.success().count() >= b.success().count();
  ServerBreakdown breakdown;
  breakdown.queue = AverageDelta(b.queue(), a.queue(), ok);
  breakdown.compute_input = AverageDelta(b.compute_input(), a.compute_input(), ok);
  breakdown.compute_infer = AverageDelta(b.compute_infer(), a.compute_infer(), ok);
  breakdown.compute_output = AverageDelta(b.compute_output(), a.compute_output(), ok);
  if (!ok) {
    return absl::FailedPreconditionError(absl::StrCat(
        "statistics of model \"", after.name(), "\" went backwards (did the server restart?)"));
  }
  breakdown.request_count = static_cast<int64_t>(a.success().count() - b.success().count());
  breakdown.inference_count =
      static_cast<int64_t>(after.inference_count() - before.inference_count());
  breakdown.execution_count =
      static_cast<int64_t>(after.execution_count() - before.execution_count());
  return breakdown;
}

LatencyBreakdown ComposeBreakdown(const ClientSummary& client, const ServerBreakdown& server) {
  LatencyBreakdown out;
  out.client_send = client.average_send;
  out.client_recv = client.average_recv;
  out.server_queue = server.queue;
  out.server_compute_input = server.compute_input;
  out.server_compute_infer = server.compute_infer;
  out.server_compute_output = server.compute_output;
  out.request_response = client.average_send + client.average_recv;
  out.response_wait = std::max(absl::ZeroDuration(), client.average - out.request_response);
  out.network_server_send_recv =
      std::max(absl::ZeroDuration(), out.response_wait - server.queue - server.compute());
  return out;
}

}  // namespace speech
