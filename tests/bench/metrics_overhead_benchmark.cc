// Metrics on vs off (DESIGN: "Enabling metrics may cost at most 2% of throughput"). In one
// process, loads the default repository twice, once recording into a MetricsCatalog (stats on
// every request, executions counted by the wrapped instances, exactly as speech_server does) and
// once without, and drives InferenceCore::StartInference on the identity model from many
// threads: decode, batch, run, encode, record. Rounds alternate on/off/off/on so that drift
// cancels; prints each round and the ratio of total throughputs.
//
//   bazel run -c opt //tests:metrics_overhead_benchmark -- [threads] [seconds per round] [rounds]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "client/tensor_util.h"
#include "models/torch/torch_instance_factory.h"
#include "server/core/inference_core.h"
#include "server/metrics/catalog.h"
#include "server/repository/model_repository.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

// Requests completed by `threads` closed-loop clients in `duration`, each re-sending `message`.
double RequestsPerSecond(InferenceCore& service, const inference::ModelInferRequest& message,
                         int threads, absl::Duration duration) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> completed{0};
  std::atomic<int64_t> failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&] {
      int64_t done_here = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        inference::ModelInferResponse response;
        absl::Notification done;
        absl::Status outcome;
        service.StartInference(&message, CallContext(), &response, [&](absl::Status status) {
          outcome = std::move(status);
          done.Notify();
        });
        done.WaitForNotification();
        if (outcome.ok()) {
          ++done_here;
        } else {
          failed.fetch_add(1);
        }
      }
      completed.fetch_add(done_here);
    });
  }
  const absl::Time start = absl::Now();
  absl::SleepFor(duration);
  stop.store(true);
  for (std::thread& client : clients) client.join();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (failed.load() > 0) std::fprintf(stderr, "%lld requests failed\n", (long long)failed.load());
  return static_cast<double>(completed.load()) / seconds;
}

// CPU time the recording itself costs per request: `threads` threads each recording completions
// (and one execution per request, the worst case of batches of one) of one model as fast as
// they can, so that all contend on the same counters. Nanoseconds of wall time per request per
// thread.
double RecordingNanosPerRequest(MetricsCatalog& catalog, int threads) {
  std::unique_ptr<ModelStats> stats = catalog.AddModel("recording", "1", 64);
  constexpr int kPerThread = 200000;
  std::vector<std::thread> workers;
  const absl::Time start = absl::Now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&stats] {
      InferenceRequest request;
      const absl::Time now = absl::Now();
      PhaseTimes& times = request.times;
      times.arrival = now;
      times.dispatch = times.compute_input_start = now + absl::Microseconds(50);
      times.compute_input_end = times.compute_infer_start = now + absl::Microseconds(60);
      times.compute_infer_end = times.compute_output_start = now + absl::Microseconds(160);
      times.compute_output_end = now + absl::Microseconds(170);
      InferenceRequest* batch[] = {&request};
      for (int i = 0; i < kPerThread; ++i) {
        stats->RecordExecution(batch);
        // As the service does: one clock read per request for its end.
        stats->RecordCompletion(request, absl::OkStatus(), now, absl::Now());
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  return absl::ToDoubleNanoseconds(absl::Now() - start) / kPerThread;
}

int Run(int threads, absl::Duration round, int rounds) {
  auto catalog = MetricsCatalog::Create(MetricsCatalog::Options{});
  if (!catalog.ok()) return 1;
  TorchInstanceFactory instances;
  ModelRepository::Options options;
  options.instances = &instances;
  auto without_metrics = ModelRepository::Load(kDefaultRepository, options);
  options.metrics = catalog->get();
  auto with_metrics = ModelRepository::Load(kDefaultRepository, options);
  if (!with_metrics.ok() || !without_metrics.ok()) {
    std::fprintf(stderr, "cannot load %s (run with bazel run)\n", kDefaultRepository);
    return 1;
  }
  InferenceCore on(with_metrics->get(), InferenceCore::Options());
  InferenceCore off(without_metrics->get(), InferenceCore::Options());
  auto input = GenerateInput("INPUT0", "FP32", {1, 64}, FillMode::kRandom, 1, 0, 0);
  if (!input.ok()) return 1;
  const inference::ModelInferRequest message = MakeInferRequest("identity", "", {*input}, {});

  // Warm up both paths.
  RequestsPerSecond(on, message, threads, absl::Seconds(1));
  RequestsPerSecond(off, message, threads, absl::Seconds(1));
  double total_on = 0;
  double total_off = 0;
  for (int r = 0; r < rounds; ++r) {
    // ABBA order within each pair of rounds.
    const bool on_first = r % 2 == 0;
    const double first = RequestsPerSecond(on_first ? on : off, message, threads, round);
    const double second = RequestsPerSecond(on_first ? off : on, message, threads, round);
    const double rate_on = on_first ? first : second;
    const double rate_off = on_first ? second : first;
    total_on += rate_on;
    total_off += rate_off;
    std::printf("round %d: metrics on %.0f req/s, off %.0f req/s, on/off %.4f\n", r + 1, rate_on,
                rate_off, rate_on / rate_off);
  }
  std::printf(
      "threads %d, %d rounds of %s each: metrics on %.0f req/s, off %.0f req/s, "
      "on/off %.4f (throughput lost %.2f%%)\n",
      threads, rounds, absl::FormatDuration(round).c_str(), total_on / rounds, total_off / rounds,
      total_on / total_off, 100.0 * (1 - total_on / total_off));
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  for (int recorders : {1, cores, threads}) {
    const double nanos = RecordingNanosPerRequest(**catalog, recorders);
    // Each core spends `nanos` per request it records; at the measured rate a core has
    // cores / rate seconds per request.
    const double share = nanos * 1e-9 / (cores / (total_off / rounds));
    std::printf(
        "recording alone, %d thread(s) on %d core(s): %.0f ns per request per thread "
        "= %.2f%% of a request's CPU time at the measured rate\n",
        recorders, cores, nanos, 100.0 * share * std::min(1.0, 1.0 * cores / recorders));
  }
  (*with_metrics)->Shutdown();
  (*without_metrics)->Shutdown();
  return 0;
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 16;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 6;
  return speech::Run(threads, absl::Seconds(seconds), rounds);
}
