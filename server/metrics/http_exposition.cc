#include "server/metrics/http_exposition.h"

#include <httplib.h>
#include <sys/socket.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace speech {
namespace {

constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Create(Options options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics port must be in [0, 65535]; was ", options.port));
  }
  if (options.handler_threads < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("handler_threads must be >= 1; was ", options.handler_threads));
  }
  if (!options.render) return absl::InvalidArgumentError("render must be set");

  if (options.tls_cert_path.empty() != options.tls_key_path.empty() ||
      (options.tls_cert_path.empty() && !options.tls_client_ca_path.empty())) {
    return absl::InvalidArgumentError(
        "metrics TLS needs both a certificate and a key (and them to verify clients)");
  }
  std::unique_ptr<httplib::Server> server;
  if (options.tls_cert_path.empty()) {
    server = std::make_unique<httplib::Server>();
  } else {
    auto tls = std::make_unique<httplib::SSLServer>(
        options.tls_cert_path.c_str(), options.tls_key_path.c_str(),
        options.tls_client_ca_path.empty() ? nullptr : options.tls_client_ca_path.c_str());
    if (!tls->is_valid()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot set up metrics TLS from certificate '", options.tls_cert_path,
                       "', key '", options.tls_key_path, "'",
                       options.tls_client_ca_path.empty()
                           ? ""
                           : absl::StrCat(" and client CA '", options.tls_client_ca_path, "'")));
    }
    server = std::move(tls);
  }
  const size_t threads = static_cast<size_t>(options.handler_threads);
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // httplib's default also sets SO_REUSEPORT, which would let a second server share the port
  // silently; a busy port must be an error.
  server->set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server->Get("/metrics", [render = std::move(options.render)](const httplib::Request&,
                                                               httplib::Response& response) {
    response.set_content(render(), kContentType);
  });
  int port = options.port;
  if (port == 0) {
    port = server->bind_to_any_port(options.address);
  } else if (!server->bind_to_port(options.address, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for metrics on ", options.address, ":", options.port));
  }
  std::unique_ptr<MetricsHttpServer> metrics(new MetricsHttpServer(std::move(server), port));
  httplib::Server* raw = metrics->server_.get();
  {
    absl::MutexLock lock(&metrics->mu_);
    metrics->listener_ = std::thread([raw] { raw->listen_after_bind(); });
  }
  // httplib's stop() does nothing until the accept loop runs, so Shutdown could otherwise miss
  // it. The socket already listens: connections made meanwhile wait in its backlog.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!raw->is_running() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  if (!raw->is_running()) {
    metrics->Shutdown();
    return absl::InternalError("the metrics server did not start within 10 s");
  }
  return metrics;
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<httplib::Server> server, int port)
    : server_(std::move(server)), port_(port) {}

MetricsHttpServer::~MetricsHttpServer() { Shutdown(); }

void MetricsHttpServer::Shutdown() {
  absl::MutexLock lock(&mu_);
  if (!listener_.joinable()) return;
  server_->stop();
  listener_.join();
}

}  // namespace speech
