// The metrics endpoint: GET /metrics over HTTP (cpp-httplib) on its own threads, so that a slow
// or stuck scraper never delays the gRPC path. Every other path answers 404.
#ifndef SPEECH_SERVER_METRICS_HTTP_EXPOSITION_H_
#define SPEECH_SERVER_METRICS_HTTP_EXPOSITION_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace speech {

// Thread-safe. Owns its listening thread and its handler threads; Shutdown (or the destructor)
// stops accepting, finishes the scrapes in flight and joins them. Borrows nothing beyond what
// `render` captures, which must outlive Shutdown.
class MetricsHttpServer {
 public:
  struct Options {
    // Address to listen on (Triton's --metrics-address); "0.0.0.0" is every IPv4 interface.
    std::string address = "0.0.0.0";
    // TCP port; 0 picks a free one (see port()).
    int port = 8002;
    // Threads answering scrapes. Scrapes are rare and short: two keep one slow client from
    // starving the others.
    int handler_threads = 2;
    // Produces the body of GET /metrics (Prometheus text format 0.0.4). Required.
    std::function<std::string()> render;
    // HTTPS when both are set: the PEM certificate (chain) and private key files the server
    // presents. With `tls_client_ca_path` too, a scraper must show a certificate signed by one
    // of that file's CA certificates.
    std::string tls_cert_path;
    std::string tls_key_path;
    std::string tls_client_ca_path;
  };

  // Validates `options` (a port in [0, 65535], handler_threads >= 1, render set, both or neither
  // of the certificate and key), binds and starts serving. UNAVAILABLE when the address cannot
  // be bound; INVALID_ARGUMENT, naming the files, when the certificate, key or CA do not load.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Create(Options options);

  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  // The port actually bound (useful when Options::port was 0).
  int port() const { return port_; }

  // Stops listening, lets scrapes in flight finish and joins every thread. Idempotent.
  void Shutdown();

 private:
  MetricsHttpServer(std::unique_ptr<httplib::Server> server, int port);

  // Constant after construction.
  const std::unique_ptr<httplib::Server> server_;
  const int port_;

  absl::Mutex mu_;
  std::thread listener_ ABSL_GUARDED_BY(mu_);
};

}  // namespace speech

#endif  // SPEECH_SERVER_METRICS_HTTP_EXPOSITION_H_
