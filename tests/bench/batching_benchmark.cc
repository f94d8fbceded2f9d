// Batching efficiency of the tiny FastPitch on this machine, as the batcher issue defines it:
//  1. throughput of the real server under 16 concurrent gRPC clients (every request 128 symbols)
//     over the throughput of the same model run in-process at static batch 8, with the same
//     number of instances, each on its own thread;
//  2. with one client, the latency the batcher adds over running each request directly.
// Usage: bazel run -c opt //tests:batching_benchmark -- [--seconds=S]
#include <atomic>
#include <iostream>
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
#include "models/torch/torch_instance.h"
#include "server/repository/config/batcher_options.h"
#include "server/repository/config/model_config.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

constexpr int kSymbols = 128;
constexpr int kStaticBatch = 8;
constexpr int kClients = 16;
const std::string kModelDir = absl::StrCat(kDefaultRepository, "/fastpitch");

std::vector<int64_t> RandomText(int rows, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::uniform_int_distribution<int64_t> symbol(1, 147);
  std::vector<int64_t> text(rows * kSymbols);
  for (int64_t& s : text) s = symbol(generator);
  return text;
}

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

// Rows per second of `threads` instances each running static batches of kStaticBatch.
double StaticBatchThroughput(const inference::ModelConfig& config, int threads,
                             absl::Duration duration) {
  std::vector<std::unique_ptr<TorchInstance>> instances;
  for (int t = 0; t < threads; ++t) instances.push_back(LoadInstance(config));
  std::atomic<int64_t> rows{0};
  const absl::Time start = absl::Now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      const std::vector<int64_t> text = RandomText(kStaticBatch, t);
      std::unique_ptr<InferenceRequest> request = MakeRequest(text, kStaticBatch);
      InferenceRequest* batch[] = {request.get()};
      // TorchScript's profiling executor specialises on the first runs of a shape.
      for (int warm = 0; warm < 3; ++warm) (void)instances[t]->Execute(batch);
      while (absl::Now() - start < duration) {
        if (!instances[t]->Execute(batch).ok()) std::abort();
        rows += kStaticBatch;
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
      const std::vector<int64_t> text = RandomText(1, 100 + c);
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

int Run(absl::Duration duration) {
  absl::StatusOr<inference::ModelConfig> config = ReadModelConfig(kModelDir);
  if (!config.ok() || !ValidateModelConfig("fastpitch", &*config).ok()) {
    std::cerr << "cannot read " << kModelDir << "/config.pbtxt" << std::endl;
    return 1;
  }
  const int instances = config->instance_group(0).count();
  std::cerr << "[1/3] in-process static batch " << kStaticBatch << " on " << instances
            << " instance threads, " << absl::FormatDuration(duration) << std::endl;
  const double static_rows = StaticBatchThroughput(*config, instances, duration);

  std::cerr << "[2/3] real server, " << kClients << " gRPC clients, "
            << absl::FormatDuration(duration) << std::endl;
  auto server = ServerProcess::Start(
      "server/speech_server",
      {absl::StrCat("--model-repository=", kDefaultRepository), "--allow-metrics=false"});
  if (!server.ok()) {
    std::cerr << server.status() << std::endl;
    return 1;
  }
  const double served = ServerThroughput((*server)->grpc_target(), kClients, duration);
  (*server)->Stop();

  std::cerr << "[3/3] one client: direct vs through the batcher" << std::endl;
  const SingleClient single = SingleClientLatency(*config, 200);
  const absl::Duration delay =
      absl::Microseconds(config->dynamic_batching().max_queue_delay_microseconds());

  std::cout << absl::StrFormat(
      "| tiny FastPitch, %d symbols | value | target |\n| --- | --- | --- |\n"
      "| in-process static batch %d, %d instances | %.1f inferences/s | |\n"
      "| server, %d gRPC clients, dynamic batching | %.1f inferences/s | |\n"
      "| ratio server / static | %.3f | >= 0.95 |\n"
      "| one client, direct p50 | %.3f ms | |\n"
      "| one client, through the batcher p50 | %.3f ms | |\n"
      "| added by the batcher | %.3f ms | <= max_queue_delay %.3f ms + 0.050 ms |\n"
      "| of which waiting in the queue (arrival to dispatch) | %.3f ms | |\n",
      kSymbols, kStaticBatch, instances, static_rows, kClients, served, served / static_rows,
      absl::ToDoubleMilliseconds(single.direct), absl::ToDoubleMilliseconds(single.batched),
      absl::ToDoubleMilliseconds(single.batched - single.direct), absl::ToDoubleMilliseconds(delay),
      absl::ToDoubleMilliseconds(single.queued));
  return 0;
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  int seconds = 10;
  for (int i = 1; i < argc; ++i) {
    if (absl::StartsWith(argv[i], "--seconds=") && absl::SimpleAtoi(argv[i] + 10, &seconds)) {
      continue;
    }
    std::cerr << "usage: batching_benchmark [--seconds=S]" << std::endl;
    return 2;
  }
  return speech::Run(absl::Seconds(seconds));
}
