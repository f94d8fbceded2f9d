// System shared memory against the socket, for one second of 16 kHz audio (16,000 FP32 samples,
// 64,000 bytes) in and out: the real server on loopback, `identity` (the transfer alone) over
// gRPC and REST, and `wav2vec2` over gRPC (the transfer beside real compute). Each client owns its
// own input and output regions. The two ways alternate in rounds so that the machine's drift
// falls on both; the table gives each way's throughput and latency and the ratio shm / socket.
// Usage: bazel run -c opt //tests/bench:shared_memory_benchmark -- [--seconds=S] [--rounds=R]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "client/inference_client.h"
#include "server/shared_memory/shared_memory_test_support.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using Json = nlohmann::json;

constexpr int kSamples = 16000;
constexpr size_t kAudioBytes = kSamples * sizeof(float);
constexpr size_t kOutputBytes = 1 << 17;  // identity's echo, or wav2vec2's logits, fit

enum class Way { kSocket, kSharedMemory };
enum class Protocol { kGrpc, kRest };

struct Case {
  const char* model;
  const char* input;
  const char* output;
  Protocol protocol;
  int clients;
};

// What one run of a case and a way measured.
struct Sample {
  int64_t requests = 0;
  int64_t failures = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
};

std::string Audio() {
  std::vector<float> samples(kSamples);
  for (int i = 0; i < kSamples; ++i) {
    samples[i] = static_cast<float>(0.3 * std::sin(2 * M_PI * 220 * i / 16000.0));
  }
  return std::string(reinterpret_cast<const char*>(samples.data()), kAudioBytes);
}

// One client's objects, registered as regions in_<k> and out_<k>.
struct ClientRegions {
  explicit ClientRegions(int k)
      : in(absl::StrCat("bench_in_", k), kAudioBytes),
        out(absl::StrCat("bench_out_", k), kOutputBytes),
        in_name(absl::StrCat("in_", k)),
        out_name(absl::StrCat("out_", k)) {}
  TestSharedMemory in;
  TestSharedMemory out;
  std::string in_name;
  std::string out_name;
};

inference::ModelInferRequest GrpcRequest(const Case& c, Way way, const ClientRegions& regions,
                                         const std::string& audio) {
  inference::ModelInferRequest request;
  request.set_model_name(c.model);
  auto* input = request.add_inputs();
  input->set_name(c.input);
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(kSamples);
  auto* output = request.add_outputs();
  output->set_name(c.output);
  if (way == Way::kSocket) {
    request.add_raw_input_contents(audio);
  } else {
    SetSharedMemoryRegion(input->mutable_parameters(), regions.in_name, kAudioBytes);
    SetSharedMemoryRegion(output->mutable_parameters(), regions.out_name, kOutputBytes);
  }
  return request;
}

// The REST request: binary input and output through the socket, or both in regions.
std::string RestJson(const Case& c, Way way, const ClientRegions& regions) {
  Json input = {{"name", c.input}, {"datatype", "FP32"}, {"shape", {1, kSamples}}};
  Json output = {{"name", c.output}};
  if (way == Way::kSocket) {
    input["parameters"] = {{"binary_data_size", kAudioBytes}};
    output["parameters"] = {{"binary_data", true}};
  } else {
    input["parameters"] = {{"shared_memory_region", regions.in_name},
                           {"shared_memory_byte_size", kAudioBytes}};
    output["parameters"] = {{"shared_memory_region", regions.out_name},
                            {"shared_memory_byte_size", kOutputBytes}};
  }
  return Json({{"inputs", {input}}, {"outputs", {output}}}).dump();
}

// Runs `c` the `way` for `duration` with its clients in parallel.
Sample Run(const ServerProcess& server, const Case& c, Way way,
           std::vector<std::unique_ptr<ClientRegions>>& regions, absl::Duration duration) {
  const std::string audio = Audio();
  std::vector<Sample> per_client(c.clients);
  std::vector<std::thread> threads;
  const absl::Time end = absl::Now() + duration;
  for (int k = 0; k < c.clients; ++k) {
    threads.emplace_back([&, k] {
      Sample& sample = per_client[k];
      const ClientRegions& mine = *regions[k];
      if (way == Way::kSharedMemory) std::memcpy(mine.in.data(), audio.data(), kAudioBytes);
      auto record = [&](bool ok, absl::Time start) {
        ++sample.requests;
        if (!ok) ++sample.failures;
        sample.latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
      };
      if (c.protocol == Protocol::kGrpc) {
        auto client = InferenceClient::Create(InferenceClient::Options{server.grpc_target()});
        if (!client.ok()) return;
        const inference::ModelInferRequest request = GrpcRequest(c, way, mine, audio);
        while (absl::Now() < end) {
          const absl::Time start = absl::Now();
          record((*client)->Infer(request).ok(), start);
        }
        return;
      }
      httplib::Client client("127.0.0.1", server.http_port());
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      const std::string json = RestJson(c, way, mine);
      const std::string body = way == Way::kSocket ? json + audio : json;
      httplib::Headers headers;
      if (way == Way::kSocket) {
        headers.emplace("Inference-Header-Content-Length", std::to_string(json.size()));
      }
      const std::string path = absl::StrCat("/v2/models/", c.model, "/infer");
      while (absl::Now() < end) {
        const absl::Time start = absl::Now();
        httplib::Result result =
            client.Post(path.c_str(), headers, body, "application/octet-stream");
        record(result && result->status == 200, start);
      }
    });
  }
  const absl::Time start = absl::Now();
  for (std::thread& thread : threads) thread.join();
  Sample total;
  total.seconds = absl::ToDoubleSeconds(absl::Now() - start);
  for (Sample& sample : per_client) {
    total.requests += sample.requests;
    total.failures += sample.failures;
    total.latencies_ms.insert(total.latencies_ms.end(), sample.latencies_ms.begin(),
                              sample.latencies_ms.end());
  }
  return total;
}

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<size_t>(p * values.size()))];
}

int Main(int argc, char** argv) {
  double seconds = 4;
  int rounds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    bool ok = false;
    if (absl::StartsWith(arg, "--seconds=")) ok = absl::SimpleAtod(arg.substr(10), &seconds);
    if (absl::StartsWith(arg, "--rounds=")) ok = absl::SimpleAtoi(arg.substr(9), &rounds);
    if (!ok) {
      std::cerr << "usage: shared_memory_benchmark [--seconds=S] [--rounds=R]; got " << arg << "\n";
      return 2;
    }
  }
  std::cerr << "[shm] starting the server on the default repository\n";
  auto server = ServerProcess::Start(
      "server/speech_server",
      {absl::StrCat("--model-repository=", kDefaultRepository), "--allow-metrics=false"});
  if (!server.ok()) {
    std::cerr << server.status() << "\n";
    return 1;
  }
  const std::vector<Case> cases = {
      {"identity", "INPUT0", "OUTPUT0", Protocol::kGrpc, 1},
      {"identity", "INPUT0", "OUTPUT0", Protocol::kGrpc, 4},
      {"identity", "INPUT0", "OUTPUT0", Protocol::kRest, 1},
      {"identity", "INPUT0", "OUTPUT0", Protocol::kRest, 4},
      {"wav2vec2", "AUDIO", "LOGITS", Protocol::kGrpc, 1},
      {"wav2vec2", "AUDIO", "LOGITS", Protocol::kGrpc, 4},
  };
  auto admin = InferenceClient::Create(InferenceClient::Options{(*server)->grpc_target()});
  if (!admin.ok()) return 1;
  std::vector<std::unique_ptr<ClientRegions>> regions;
  for (int k = 0; k < 4; ++k) {
    regions.push_back(std::make_unique<ClientRegions>(k));
    const ClientRegions& r = *regions.back();
    absl::Status status = (*admin)->RegisterSystemSharedMemory(r.in_name, r.in.key(), kAudioBytes);
    if (status.ok()) {
      status = (*admin)->RegisterSystemSharedMemory(r.out_name, r.out.key(), kOutputBytes);
    }
    if (!status.ok()) {
      std::cerr << status << "\n";
      return 1;
    }
  }

  std::cout << absl::StrFormat("%-9s %-5s %7s | %10s %8s %8s | %10s %8s %8s | %9s %9s\n", "model",
                               "proto", "clients", "socket/s", "p50 ms", "p99 ms", "shm/s",
                               "p50 ms", "p99 ms", "shm/sock", "p50 ratio");
  for (size_t index = 0; index < cases.size(); ++index) {
    const Case& c = cases[index];
    Sample socket;
    Sample shm;
    for (int round = 0; round < rounds; ++round) {
      std::cerr << absl::StrFormat(
          "[shm] case %d/%d (%s, %s, %d clients): round %d/%d\n", index + 1, cases.size(), c.model,
          c.protocol == Protocol::kGrpc ? "gRPC" : "REST", c.clients, round + 1, rounds);
      for (Way way : {Way::kSocket, Way::kSharedMemory}) {
        Sample sample = Run(**server, c, way, regions, absl::Seconds(seconds));
        Sample& into = way == Way::kSocket ? socket : shm;
        into.requests += sample.requests;
        into.failures += sample.failures;
        into.seconds += sample.seconds;
        into.latencies_ms.insert(into.latencies_ms.end(), sample.latencies_ms.begin(),
                                 sample.latencies_ms.end());
      }
    }
    if (socket.failures + shm.failures > 0) {
      std::cerr << "[shm] failures: socket " << socket.failures << ", shm " << shm.failures << "\n";
      return 1;
    }
    const double socket_rate = socket.requests / socket.seconds;
    const double shm_rate = shm.requests / shm.seconds;
    const double socket_p50 = Percentile(socket.latencies_ms, 0.5);
    const double shm_p50 = Percentile(shm.latencies_ms, 0.5);
    std::cout << absl::StrFormat(
        "%-9s %-5s %7d | %10.1f %8.3f %8.3f | %10.1f %8.3f %8.3f | %8.2fx %8.2fx\n", c.model,
        c.protocol == Protocol::kGrpc ? "gRPC" : "REST", c.clients, socket_rate, socket_p50,
        Percentile(socket.latencies_ms, 0.99), shm_rate, shm_p50,
        Percentile(shm.latencies_ms, 0.99), shm_rate / socket_rate, shm_p50 / socket_p50);
  }
  (*admin)->UnregisterSystemSharedMemory().IgnoreError();
  return (*server)->Stop() == 0 ? 0 : 1;
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) { return speech::Main(argc, argv); }
