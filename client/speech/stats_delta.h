// The server side of one command's requests: which models' ModelStatistics moved between a
// snapshot taken before the requests and one taken after, and how long each of them spent per
// request in each phase (queue, compute input, infer, compute output). For an ensemble that is
// the ensemble's row and one row per composing model. Pure functions over plain values.
#ifndef SPEECH_CLIENT_SPEECH_STATS_DELTA_H_
#define SPEECH_CLIENT_SPEECH_STATS_DELTA_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// One model version's share of the window. A plain value type.
struct ModelPhaseTimes {
  std::string name;
  std::string version;
  // Requests the model finished in the window, successfully or not, and its executions
  // (batches; ensembles execute nothing of their own).
  int64_t success_count = 0;
  int64_t failure_count = 0;
  int64_t execution_count = 0;
  // Mean time per request in each phase: the phase's nanoseconds over its own count, both moved
  // in the window (zero when the count did not move).
  absl::Duration queue = absl::ZeroDuration();
  absl::Duration compute_input = absl::ZeroDuration();
  absl::Duration compute_infer = absl::ZeroDuration();
  absl::Duration compute_output = absl::ZeroDuration();

  absl::Duration total() const { return queue + compute_input + compute_infer + compute_output; }
};

// The models whose success or failure count moved from `before` to `after` (two answers of the
// statistics RPC for every model, i.e. with an empty name): those named in `first` first, in that
// order, then the others by name and version. A model missing from `before` (loaded in between)
// counts from zero; one whose counters went backwards (reloaded in between) is left out. Other
// clients' requests in the window count too: the request counts show them.
std::vector<ModelPhaseTimes> DiffModelStatistics(const inference::ModelStatisticsResponse& before,
                                                 const inference::ModelStatisticsResponse& after,
                                                 absl::Span<const std::string> first = {});

// `rows` as a compact table with a header line, every line indented by `indent` and ending in a
// newline; times in milliseconds:
//   model         version  ok  fail  queue  input   infer  output   total
//   tts           1         1     0  0.100  0.200  12.000   0.400  12.700
// An empty `rows` gives one line saying that no model's statistics moved.
std::string FormatPhaseTable(absl::Span<const ModelPhaseTimes> rows,
                             const std::string& indent = "  ");

}  // namespace speech

#endif  // SPEECH_CLIENT_SPEECH_STATS_DELTA_H_
