// Batching efficiency of the tiny FastPitch on this machine:
//  1. throughput of the real server under 16 concurrent gRPC clients (each with its own
//     128-symbol text) against the same model run in-process at every static batch size (1, 2,
//     4, 8) on the same 16 texts, with the same number of instances, each on its own thread;
//     the server is compared with the best static size (issue 11: at least 0.9x). Rounds
//     alternate the order (static sizes then server, server then static sizes) so that drift
//     cancels.
//  2. with one client, the latency the batcher adds over running each request directly.
// Usage: bazel run -c opt //tests/bench:batching_benchmark -- [--seconds=S] [--rounds=R]
#include <algorithm>
#include <atomic>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "batcher/dynamic_batcher.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "models/torch/process/openmp_environment.h"
#include "models/torch/torch_instance.h"
#include "server/repository/config/batcher_options.h"
#include "server/repository/config/model_config.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

constexpr int kSymbols = 128;
constexpr int kStaticBatches[] = {1, 2, 4, 8};
constexpr int kClients = 16;
const std::string kModelDir = absl::StrCat(kDefaultRepository, "/fastpitch");

std::vector<int64_t> RandomText(int rows, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<int64_t> symbol(1, 147);
  std::vector<int64_t> text(rows * kSymbols);
  for (int64_t& s : text) s = symbol(generator);
  return text;
}

// Client c's text: the same on the server side and in every static batch.
std::vector<int64_t> ClientText(int client) { return RandomText(1, 100 + client); }

std::unique_ptr<InferenceRequest> MakeRequest(const std::vector<int64_t>& text, int rows) {
  auto request = std::make_unique<InferenceRequest>();
  request->batch_rows = rows;
  InputTensor input;
  input.name = "INPUT__0";
  input.type = inference::TYPE_INT64;
  input.shape = {rows, kSymbols};
  input.data = reinterpret_cast<const char*>(text.data());
  input.byte_size = text.size() * sizeof(int64_t);
  request->inputs.push_back(input);
  return request;
}

std::unique_ptr<TorchInstance> LoadInstance(const inference::ModelConfig& config) {
  TorchInstance::Options options;
  options.model_path = kModelDir + "/1/model.pt";
  options.config = config;
  options.instance_name = "bench";
  auto instance = TorchInstance::Create(options);
  if (!instance.ok()) {
    std::cerr << instance.status() << std::endl;
    std::exit(1);
  }
  return *std::move(instance);
}

// Rows per second of one instance per thread, each running static batches of `batch` rows made
// of the clients' texts in turn (batch k holds texts kB .. kB+B-1, modulo kClients), so that
// every text runs as often as on the server.
double StaticBatchThroughput(std::vector<std::unique_ptr<TorchInstance>>& instances, int batch,
                             absl::Duration duration) {
  std::vector<std::vector<int64_t>> texts;
  for (int k = 0; k < kClients; ++k) {
    std::vector<int64_t> rows;
    for (int j = 0; j < batch; ++j) {
      const std::vector<int64_t> text = ClientText((k * batch + j) % kClients);
      rows.insert(rows.end(), text.begin(), text.end());
    }
    texts.push_back(std::move(rows));
  }
  // Each thread has its own requests (Execute writes a request's outputs) over the same texts.
  std::vector<std::vector<std::unique_ptr<InferenceRequest>>> requests(instances.size());
  for (auto& mine : requests) {
    for (const std::vector<int64_t>& rows : texts) mine.push_back(MakeRequest(rows, batch));
  }
  // TorchScript's profiling executor specialises on the first runs of a shape.
  for (size_t t = 0; t < instances.size(); ++t) {
    for (int warm = 0; warm < 3; ++warm) {
      InferenceRequest* one[] = {requests[t][warm % kClients].get()};
      if (!instances[t]->Execute(one).ok()) std::abort();
    }
  }
  std::atomic<int64_t> rows{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (size_t t = 0; t < instances.size(); ++t) {
    workers.emplace_back([&, t] {
      for (size_t k = t % kClients; absl::Now() - start < duration; k = (k + 1) % kClients) {
        InferenceRequest* one[] = {requests[t][k].get()};
        if (!instances[t]->Execute(one).ok()) std::abort();
        rows += batch;
      }
    });
  }
  for (std::thread& worker : workers) worker.join();
  return rows / absl::ToDoubleSeconds(absl::Now() - start);
}

// Inferences per second of `clients` real gRPC clients against the server, each sending the next
// request when the previous one returns.
double ServerThroughput(const std::string& target, int clients, absl::Duration duration) {
  std::atomic<int64_t> done{0}, failed{0};
  std::vector<std::thread> threads;
  const absl::Time start = absl::Now() + absl::Seconds(1);  // after everyone connected
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      auto client = InferenceClient::Create(InferenceClient::Options{target});
      const std::vector<int64_t> text = ClientText(c);
      HostTensor input{
          "INPUT__0",
          "INT64",
          {1, kSymbols},
          std::string(reinterpret_cast<const char*>(text.data()), text.size() * sizeof(int64_t))};
      const inference::ModelInferRequest request = MakeInferRequest("fastpitch", "", {input}, {});
      (void)(*client)->Infer(request);
      while (absl::Now() < start) (void)(*client)->Infer(request);
      while (absl::Now() - start < duration) {
        if ((*client)->Infer(request).ok()) {
          ++done;
        } else {
          ++failed;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  if (failed > 0) std::cerr << failed << " requests failed" << std::endl;
  return done / absl::ToDoubleSeconds(absl::Now() - start);
}

absl::Duration Median(std::vector<absl::Duration> samples) {
  std::sort(samples.begin(), samples.end());
  return samples[samples.size() / 2];
}

// Median latency of one request (batch 1) run directly, and through a DynamicBatcher configured
// as the model's config.pbtxt says, one request at a time.
struct SingleClient {
  absl::Duration direct;   // p50 of Execute called directly
  absl::Duration batched;  // p50 of Enqueue to completion
  absl::Duration queued;   // p50 of arrival to dispatch, inside the batcher
};

SingleClient SingleClientLatency(const inference::ModelConfig& config, int requests) {
  const std::vector<int64_t> text = RandomText(1, 7);
  std::unique_ptr<TorchInstance> direct = LoadInstance(config);
  std::vector<absl::Duration> direct_samples, batched_samples, queued_samples;
  for (int i = 0; i < requests + 5; ++i) {
    std::unique_ptr<InferenceRequest> request = MakeRequest(text, 1);
    InferenceRequest* batch[] = {request.get()};
    const absl::Time begin = absl::Now();
    if (!direct->Execute(batch).ok()) std::abort();
    if (i >= 5) direct_samples.push_back(absl::Now() - begin);
  }
  std::vector<std::unique_ptr<BatchExecutor>> executors;
  executors.push_back(std::move(direct));
  auto batcher = DynamicBatcher::Create(BatcherOptionsFromConfig(config), std::move(executors));
  if (!batcher.ok()) std::abort();
  for (int i = 0; i < requests + 5; ++i) {
    std::unique_ptr<InferenceRequest> request = MakeRequest(text, 1);
    absl::Notification finished;
    absl::Duration queued;
    request->on_complete = [&](std::unique_ptr<InferenceRequest> done, absl::Status status) {
      if (!status.ok()) std::abort();
      queued = done->times.dispatch - done->times.arrival;
      finished.Notify();
    };
    const absl::Time begin = absl::Now();
    (*batcher)->Enqueue(std::move(request));
    finished.WaitForNotification();
    if (i >= 5) {
      batched_samples.push_back(absl::Now() - begin);
      queued_samples.push_back(queued);
    }
  }
  return {Median(direct_samples), Median(batched_samples), Median(queued_samples)};
}

int Run(absl::Duration duration, int rounds) {
  absl::StatusOr<inference::ModelConfig> config = ReadModelConfig(kModelDir);
  if (!config.ok() || !ValidateModelConfig("fastpitch", &*config).ok()) {
    std::cerr << "cannot read " << kModelDir << "/config.pbtxt" << std::endl;
    return 1;
  }
  const int instance_count = config->instance_group(0).count();
  std::vector<std::unique_ptr<TorchInstance>> instances;
  for (int t = 0; t < instance_count; ++t) instances.push_back(LoadInstance(*config));
  auto server = ServerProcess::Start(
      "server/speech_server",
      {absl::StrCat("--model-repository=", kDefaultRepository), "--allow-metrics=false"});
  if (!server.ok()) {
    std::cerr << server.status() << std::endl;
    return 1;
  }
  std::vector<double> static_rows(std::size(kStaticBatches), 0);
  double served = 0;
  for (int round = 0; round < rounds; ++round) {
    auto run_static = [&] {
      for (size_t b = 0; b < std::size(kStaticBatches); ++b) {
        std::cerr << "[round " << round + 1 << "/" << rounds << "] in-process static batch "
                  << kStaticBatches[b] << " on " << instance_count << " instance threads, "
                  << absl::FormatDuration(duration) << std::endl;
        static_rows[b] += StaticBatchThroughput(instances, kStaticBatches[b], duration) / rounds;
      }
    };
    auto run_server = [&] {
      std::cerr << "[round " << round + 1 << "/" << rounds << "] real server, " << kClients
                << " gRPC clients, " << absl::FormatDuration(duration) << std::endl;
      served += ServerThroughput((*server)->grpc_target(), kClients, duration) / rounds;
    };
    if (round % 2 == 0) {
      run_static();
      run_server();
    } else {
      run_server();
      run_static();
    }
  }
  (*server)->Stop();
  instances.clear();

  std::cerr << "[last] one client: direct vs through the batcher" << std::endl;
  const SingleClient single = SingleClientLatency(*config, 200);
  const absl::Duration delay =
      absl::Microseconds(config->dynamic_batching().max_queue_delay_microseconds());

  std::cout << absl::StrFormat(
      "| tiny FastPitch, %d symbols, %d rounds of %s | value | target |\n| --- | --- | --- |\n",
      kSymbols, rounds, absl::FormatDuration(duration));
  size_t best = 0;
  for (size_t b = 0; b < std::size(kStaticBatches); ++b) {
    if (static_rows[b] > static_rows[best]) best = b;
    std::cout << absl::StrFormat(
        "| in-process static batch %d, %d instances | %.1f inferences/s | |\n", kStaticBatches[b],
        instance_count, static_rows[b]);
  }
  std::cout << absl::StrFormat(
      "| server, %d gRPC clients, dynamic batching | %.1f inferences/s | |\n"
      "| ratio server / best static (batch %d) | %.3f | >= 0.9 |\n"
      "| one client, direct p50 | %.3f ms | |\n"
      "| one client, through the batcher p50 | %.3f ms | |\n"
      "| added by the batcher | %.3f ms | <= max_queue_delay %.3f ms + 0.050 ms |\n"
      "| of which waiting in the queue (arrival to dispatch) | %.3f ms | |\n",
      kClients, served, kStaticBatches[best], served / static_rows[best],
      absl::ToDoubleMilliseconds(single.direct), absl::ToDoubleMilliseconds(single.batched),
      absl::ToDoubleMilliseconds(single.batched - single.direct), absl::ToDoubleMilliseconds(delay),
      absl::ToDoubleMilliseconds(single.queued));
  return 0;
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  // The in-process instances run under the same threading environment as the server's.
  speech::RestartWithServerThreadingEnvironment(argv);
  int seconds = 10;
  int rounds = 2;
  for (int i = 1; i < argc; ++i) {
    if (absl::StartsWith(argv[i], "--seconds=") && absl::SimpleAtoi(argv[i] + 10, &seconds) &&
        seconds > 0) {
      continue;
    }
    if (absl::StartsWith(argv[i], "--rounds=") && absl::SimpleAtoi(argv[i] + 9, &rounds) &&
        rounds > 0) {
      continue;
    }
    std::cerr << "usage: batching_benchmark [--seconds=S >= 1] [--rounds=R >= 1]" << std::endl;
    return 2;
  }
  return speech::Run(absl::Seconds(seconds), rounds);
}
