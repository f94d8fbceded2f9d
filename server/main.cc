// speech_server: loads the model repository, serves GRPCInferenceService, the standard gRPC
// health service, the KServe v2 HTTP/REST endpoint and Prometheus metrics (/metrics), and shuts
// down gracefully on SIGINT or SIGTERM (drain, refuse, finish what it accepted, exit 0).
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "models/torch/process/heap_release.h"
#include "models/torch/process/onednn_cache.h"
#include "models/torch/process/openmp_environment.h"
#include "models/torch/torch_instance_factory.h"
#include "server/core/inference_core.h"
#include "server/flags.h"
#include "server/grpc/inference_service.h"
#include "server/http/http_service.h"
#include "server/metrics/catalog.h"
#include "server/metrics/http_exposition.h"
#include "server/repository/model_repository.h"
#include "server/repository/repository_poller.h"

namespace speech {
namespace {

// Blocks SIGINT and SIGTERM in every thread (call before any thread starts) so that WaitForStop
// can take them synchronously.
sigset_t BlockStopSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return signals;
}

int WaitForStop(const sigset_t& signals) {
  int signal = 0;
  sigwait(&signals, &signal);
  return signal;
}

// The contents of the PEM file `path`, given by flag `flag`; an error naming both if unreadable.
absl::StatusOr<std::string> ReadPemFile(const std::string& flag, const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  const std::string contents((std::istreambuf_iterator<char>(file)),
                             std::istreambuf_iterator<char>());
  if (!file.is_open() || contents.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("flag '--", flag, "': cannot read a PEM file at '", path, "'"));
  }
  return contents;
}

// Plain gRPC, or TLS with the flags' certificate, key and (to verify clients) root.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> GrpcCredentials(
    const ServerFlags::Tls& tls) {
  if (!tls.enabled) return grpc::InsecureServerCredentials();
  absl::StatusOr<std::string> cert = ReadPemFile("grpc-server-cert", tls.server_cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile("grpc-server-key", tls.server_key);
  if (!key.ok()) return key.status();
  grpc::SslServerCredentialsOptions options(
      tls.verify_clients ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                         : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  if (tls.verify_clients) {
    absl::StatusOr<std::string> root = ReadPemFile("grpc-root-cert", tls.root_cert);
    if (!root.ok()) return root.status();
    options.pem_root_certs = *std::move(root);
  }
  options.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  return grpc::SslServerCredentials(options);
}

int Run(const ServerFlags& flags) {
  const sigset_t stop_signals = BlockStopSignals();
  // A peer that closes a TLS connection while the server writes to it (OpenSSL writes with
  // write(), not send(MSG_NOSIGNAL)) must cost that connection, not the process.
  std::signal(SIGPIPE, SIG_IGN);
  // Before any thread starts: later threads share the capped arenas. MALLOC_ARENA_MAX in the
  // environment wins (glibc has applied it already), as OMP_WAIT_POLICY does.
  if (flags.malloc_arena_max > 0 && std::getenv("MALLOC_ARENA_MAX") == nullptr &&
      !LimitMallocArenas(flags.malloc_arena_max)) {
    std::cerr << "warning: glibc refused --malloc-arena-max=" << flags.malloc_arena_max
              << std::endl;
  }
  if (flags.malloc_mmap_threshold_mb > 0 && std::getenv("MALLOC_MMAP_THRESHOLD_") == nullptr &&
      std::getenv("MALLOC_TRIM_THRESHOLD_") == nullptr &&
      !FixMallocThresholds(int64_t{flags.malloc_mmap_threshold_mb} << 20)) {
    std::cerr << "warning: glibc refused --malloc-mmap-threshold-mb="
              << flags.malloc_mmap_threshold_mb << std::endl;
  }
  // Before the models load, which is when oneDNN reads it.
  SetOneDnnPrimitiveCacheCapacity(flags.onednn_primitive_cache);
  // Before the models load: a bad certificate path fails at once.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> grpc_credentials =
      GrpcCredentials(flags.grpc_tls);
  if (!grpc_credentials.ok()) {
    std::cerr << "error: " << grpc_credentials.status().message() << std::endl;
    return 1;
  }
  // Statistics are kept even without --allow-metrics: the ModelStatistics RPC reports them.
  MetricsCatalog::Options metrics_options;
  metrics_options.gpu_metrics = flags.allow_metrics;
  absl::StatusOr<std::unique_ptr<MetricsCatalog>> metrics = MetricsCatalog::Create(metrics_options);
  if (!metrics.ok()) {
    std::cerr << "error: " << metrics.status().message() << std::endl;
    return 1;
  }
  std::unique_ptr<HeapReleaser> heap_releaser;
  if (flags.heap_release_interval_ms > 0) {
    heap_releaser =
        std::make_unique<HeapReleaser>(absl::Milliseconds(flags.heap_release_interval_ms));
  }
  std::cerr << "loading models from '" << flags.model_repository << "'" << std::endl;
  TorchInstanceFactory torch_instances;
  ModelRepository::Options repository_options;
  repository_options.instances = &torch_instances;
  repository_options.metrics = metrics->get();
  repository_options.control_mode = flags.model_control_mode == "explicit"
                                        ? ModelControlMode::kExplicit
                                    : flags.model_control_mode == "poll" ? ModelControlMode::kPoll
                                                                         : ModelControlMode::kNone;
  repository_options.startup_models = flags.load_models;
  absl::StatusOr<std::unique_ptr<ModelRepository>> repository =
      ModelRepository::Load(flags.model_repository, repository_options);
  if (!repository.ok()) {
    std::cerr << "error: " << repository.status().message() << std::endl;
    return 1;
  }
  std::cerr << "model control mode: " << ModelControlModeName(repository_options.control_mode)
            << std::endl;
  // Stopped before the repository (declared after it).
  std::unique_ptr<RepositoryPoller> poller;
  if (repository_options.control_mode == ModelControlMode::kPoll) {
    RepositoryPoller::Options poller_options;
    poller_options.period = absl::Seconds(flags.repository_poll_secs);
    absl::StatusOr<std::unique_ptr<RepositoryPoller>> started =
        RepositoryPoller::Create(repository->get(), poller_options);
    if (!started.ok()) {
      std::cerr << "error: " << started.status().message() << std::endl;
      return 1;
    }
    poller = *std::move(started);
  }
  // Declared after the repository, so that it stops (and no longer reads queue depths) first.
  std::unique_ptr<MetricsHttpServer> metrics_http;
  if (flags.allow_metrics) {
    MetricsHttpServer::Options http_options;
    http_options.address = flags.metrics_address;
    http_options.port = flags.metrics_port;
    http_options.render = [catalog = metrics->get()] { return catalog->Expose(); };
    if (flags.metrics_tls.enabled) {
      http_options.tls_cert_path = flags.metrics_tls.server_cert;
      http_options.tls_key_path = flags.metrics_tls.server_key;
      if (flags.metrics_tls.verify_clients) {
        http_options.tls_client_ca_path = flags.metrics_tls.root_cert;
      }
    }
    absl::StatusOr<std::unique_ptr<MetricsHttpServer>> http =
        MetricsHttpServer::Create(std::move(http_options));
    if (!http.ok()) {
      std::cerr << "error: " << http.status().message() << std::endl;
      return 1;
    }
    metrics_http = *std::move(http);
    std::cerr << "metrics: " << (*metrics)->gpu_count() << " GPU(s) reported through NVML"
              << std::endl;
    std::cout << "Started Metrics Service at " << flags.metrics_address << ":"
              << metrics_http->port() << (flags.metrics_tls.enabled ? " (TLS)" : "") << std::endl;
  }
  InferenceCore::Options core_options;
  core_options.limits = flags.limits;
  InferenceCore core(repository->get(), std::move(core_options));
  // Before the gRPC service, whose line tells scripts that the server is up.
  std::unique_ptr<HttpService> http;
  if (flags.allow_http) {
    HttpService::Options http_options;
    http_options.address = flags.http_address;
    http_options.port = flags.http_port;
    http_options.thread_count = flags.http_thread_count;
    http_options.max_body_bytes = flags.http_max_body_bytes;
    absl::StatusOr<std::unique_ptr<HttpService>> started =
        HttpService::Create(&core, std::move(http_options));
    if (!started.ok()) {
      std::cerr << "error: " << started.status().message() << std::endl;
      return 1;
    }
    http = *std::move(started);
    std::cout << "Started HTTPService at " << flags.http_address << ":" << http->port()
              << std::endl;
  }
  InferenceService service(&core);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::StrCat(flags.grpc_address, ":", flags.grpc_port),
                           *grpc_credentials, &port);
  builder.SetMaxReceiveMessageSize(static_cast<int>(flags.grpc_max_message_bytes));
  builder.SetMaxSendMessageSize(static_cast<int>(flags.grpc_max_message_bytes));
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "error: cannot listen on " << flags.grpc_address << ":" << flags.grpc_port
              << std::endl;
    return 1;
  }
  const bool all_ready = (*repository)->AllReady();
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  health->SetServingStatus(all_ready);
  health->SetServingStatus("inference.GRPCInferenceService", all_ready);
  std::cout << "Started GRPCInferenceService at " << flags.grpc_address << ":" << port
            << (flags.grpc_tls.enabled ? " (TLS)" : "")
            << (all_ready ? "" : " (some models failed to load)") << std::endl;

  const int signal = WaitForStop(stop_signals);
  std::cerr << "received signal " << signal << "; draining for " << flags.drain_period_secs
            << " s, then finishing accepted requests (exit timeout " << flags.exit_timeout_secs
            << " s); a second signal exits at once" << std::endl;
  // The shutdown runs on its own thread while this one waits for a second signal, which ends the
  // process whatever the shutdown is doing. (Signals go to the thread that waits for them; the
  // threads made before main() leave them unblocked, so no other one may be left to take them.)
  std::thread shutdown([&] {
    // Order: report not ready and not serving while still serving for the drain period (the load
    // balancer moves traffic away); refuse new requests (UNAVAILABLE, over both protocols) and let
    // the accepted ones finish, up to the exit timeout; then stop HTTP and drain and join every
    // model's batcher while gRPC still answers UNAVAILABLE.
    core.StartDraining();
    health->SetServingStatus("inference.GRPCInferenceService", false);
    health->SetServingStatus(false);
    if (flags.drain_period_secs > 0) absl::SleepFor(absl::Seconds(flags.drain_period_secs));
    core.RefuseNewRequests();
    if (poller != nullptr) poller->Stop();
    if (http != nullptr) http->StopAccepting();
    const absl::Time exit_deadline = absl::Now() + absl::Seconds(flags.exit_timeout_secs);
    if (!core.WaitForAcceptedRequests(exit_deadline - absl::Now()) ||
        !service.WaitForInferenceCalls(exit_deadline - absl::Now())) {
      std::cerr << "requests still in flight after the exit timeout; exiting anyway" << std::endl;
      std::_Exit(1);
    }
    if (http != nullptr) http->Shutdown();
    (*repository)->Shutdown();
    if (metrics_http != nullptr) metrics_http->Shutdown();
    std::cerr << "stopped" << std::endl;
    std::cout.flush();
    // Every accepted request is done. The process ends here without grpc::Server::Shutdown, which
    // would fail the calls still on their way in with CANCELLED; ending the process closes their
    // connections instead, which clients see as UNAVAILABLE and retry elsewhere.
    std::_Exit(0);
  });
  const int second = WaitForStop(stop_signals);
  std::cerr << "received signal " << second << " again; exiting at once" << std::endl;
  std::_Exit(1);
}

}  // namespace
}  // namespace speech

int main(int argc, char** argv) {
  speech::RestartWithServerThreadingEnvironment(argv);
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<speech::ServerFlags> flags = speech::ParseServerFlags(args);
  if (!flags.ok()) {
    std::cerr << "error: " << flags.status().message() << std::endl;
    return 2;
  }
  if (flags->help) {
    std::cout << speech::ServerUsage();
    return 0;
  }
  return speech::Run(*flags);
}
