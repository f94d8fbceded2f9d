// What `--allow-metrics` costs, the one metrics switch a user has (DESIGN: "Enabling metrics may
// cost at most 2% of throughput"). The server keeps statistics either way (the ModelStatistics
// RPC reports them), so both sides record into a MetricsCatalog, exactly as speech_server does;
// the "on" side also serves /metrics over HTTP and is scraped (every "scrape interval ms", the
// fourth argument) while it runs. In one process the default repository is loaded twice and many
// threads drive InferenceCore::StartInference on the identity model: decode, batch, run, encode,
// record. Rounds alternate on/off/off/on so that drift cancels; prints each round and the ratio.
//
// Then what recording itself costs, which no switch turns off: threads recording completions of
// one model as fast as they can (1, one per core, and the client thread count), nanoseconds per
// request per thread, and that as a share of a request's CPU time at the measured rate.
//
//   bazel run -c opt //tests/bench:metrics_overhead_benchmark -- \
//       [threads] [seconds per round] [rounds] [scrape interval ms]
//   rounds 0 runs the recording measurement alone.
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
#include "httplib.h"
#include "models/torch/torch_instance_factory.h"
#include "server/core/inference_core.h"
#include "server/metrics/catalog.h"
#include "server/metrics/http_exposition.h"
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

// A Prometheus stand-in: GETs /metrics from `port` every `interval` until destroyed.
class Scraper {
 public:
  Scraper(int port, absl::Duration interval)
      : thread_([this, port, interval] {
          httplib::Client client("127.0.0.1", port);
          while (!stop_.WaitForNotificationWithTimeout(interval)) {
            httplib::Result result = client.Get("/metrics");
            if (result && result->status == 200) {
              ++scrapes_;
              bytes_ = result->body.size();
            }
          }
        }) {}
  ~Scraper() {
    stop_.Notify();
    thread_.join();
  }
  int scrapes() const { return scrapes_; }
  size_t bytes() const { return bytes_; }

 private:
  absl::Notification stop_;
  std::atomic<int> scrapes_{0};
  std::atomic<size_t> bytes_{0};
  std::thread thread_;
};

// Prints RecordingNanosPerRequest for 1 thread, one per core and `threads`; with a measured
// `requests_per_second` (> 0), also as a share of a request's CPU time.
void ReportRecording(MetricsCatalog& catalog, int threads, double requests_per_second) {
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  for (int recorders : {1, cores, threads}) {
    const double nanos = RecordingNanosPerRequest(catalog, recorders);
    // Each core spends `nanos` per request it records; at the measured rate a core has
    // cores / rate seconds per request.
    std::printf("recording alone, %d thread(s) on %d core(s): %.0f ns per request per thread",
                recorders, cores, nanos);
    if (requests_per_second > 0) {
      const double share = nanos * 1e-9 / (cores / requests_per_second);
      std::printf(" = %.2f%% of a request's CPU time at %.0f req/s",
                  100.0 * share * std::min(1.0, 1.0 * cores / recorders), requests_per_second);
    }
    std::printf("\n");
  }
}

int Run(int threads, absl::Duration round, int rounds, absl::Duration scrape_interval) {
  // Both sides as speech_server makes them: statistics always, GPU metrics with the endpoint.
  MetricsCatalog::Options with_endpoint;
  with_endpoint.gpu_metrics = true;
  MetricsCatalog::Options without_endpoint;
  without_endpoint.gpu_metrics = false;
  auto catalog_on = MetricsCatalog::Create(with_endpoint);
  auto catalog_off = MetricsCatalog::Create(without_endpoint);
  if (!catalog_on.ok() || !catalog_off.ok()) return 1;
  if (rounds == 0) {
    ReportRecording(**catalog_off, threads, 0);
    return 0;
  }
  TorchInstanceFactory instances;
  ModelRepository::Options options;
  options.instances = &instances;
  options.metrics = catalog_off->get();
  auto repository_off = ModelRepository::Load(kDefaultRepository, options);
  options.metrics = catalog_on->get();
  auto repository_on = ModelRepository::Load(kDefaultRepository, options);
  if (!repository_on.ok() || !repository_off.ok()) {
    std::fprintf(stderr, "cannot load %s (run with bazel run)\n", kDefaultRepository);
    return 1;
  }
  MetricsHttpServer::Options http_options;
  http_options.address = "127.0.0.1";
  http_options.port = 0;
  http_options.render = [catalog = catalog_on->get()] { return catalog->Expose(); };
  auto endpoint = MetricsHttpServer::Create(std::move(http_options));
  if (!endpoint.ok()) {
    std::fprintf(stderr, "%s\n", endpoint.status().ToString().c_str());
    return 1;
  }
  InferenceCore on(repository_on->get(), InferenceCore::Options());
  InferenceCore off(repository_off->get(), InferenceCore::Options());
  auto input = GenerateInput("INPUT0", "FP32", {1, 64}, FillMode::kRandom, 1, 0, 0);
  if (!input.ok()) return 1;
  const inference::ModelInferRequest message = MakeInferRequest("identity", "", {*input}, {});
  // The "on" side runs while scraped.
  auto run_on = [&](absl::Duration duration, int* scrapes, size_t* bytes) {
    Scraper scraper((*endpoint)->port(), scrape_interval);
    const double rate = RequestsPerSecond(on, message, threads, duration);
    *scrapes += scraper.scrapes();
    *bytes = scraper.bytes();
    return rate;
  };

  int scrapes = 0;
  size_t bytes = 0;
  // Warm up both paths.
  run_on(absl::Seconds(1), &scrapes, &bytes);
  RequestsPerSecond(off, message, threads, absl::Seconds(1));
  scrapes = 0;
  double total_on = 0;
  double total_off = 0;
  for (int r = 0; r < rounds; ++r) {
    // ABBA order within each pair of rounds.
    double rate_on = 0;
    double rate_off = 0;
    if (r % 2 == 0) {
      rate_on = run_on(round, &scrapes, &bytes);
      rate_off = RequestsPerSecond(off, message, threads, round);
    } else {
      rate_off = RequestsPerSecond(off, message, threads, round);
      rate_on = run_on(round, &scrapes, &bytes);
    }
    total_on += rate_on;
    total_off += rate_off;
    std::printf("round %d: --allow-metrics on %.0f req/s, off %.0f req/s, on/off %.4f\n", r + 1,
                rate_on, rate_off, rate_on / rate_off);
  }
  std::printf(
      "threads %d, %d rounds of %s each, scraped every %s (%d scrapes of %zu bytes): "
      "--allow-metrics on %.0f req/s, off %.0f req/s, on/off %.4f (throughput lost %.2f%%)\n",
      threads, rounds, absl::FormatDuration(round).c_str(),
      absl::FormatDuration(scrape_interval).c_str(), scrapes, bytes, total_on / rounds,
      total_off / rounds, total_on / total_off, 100.0 * (1 - total_on / total_off));
  ReportRecording(**catalog_off, threads, total_off / rounds);
  (*endpoint)->Shutdown();
  (*repository_on)->Shutdown();
  (*repository_off)->Shutdown();
  return 0;
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 16;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 3;
  const int rounds = argc > 3 ? std::atoi(argv[3]) : 6;
  const int scrape_ms = argc > 4 ? std::atoi(argv[4]) : 1000;
  if (threads < 1 || seconds < 1 || rounds < 0 || scrape_ms < 1) {
    std::fprintf(stderr,
                 "usage: metrics_overhead_benchmark [threads >= 1] [seconds >= 1] [rounds >= 0] "
                 "[scrape ms >= 1]\n");
    return 2;
  }
  return speech::Run(threads, absl::Seconds(seconds), rounds, absl::Milliseconds(scrape_ms));
}
