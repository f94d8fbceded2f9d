// The server's command line. Flag names follow Triton's where Triton has the flag.
#ifndef SPEECH_SERVER_FLAGS_H_
#define SPEECH_SERVER_FLAGS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/core/decode/request_limits.h"

namespace speech {

struct ServerFlags {
  std::string model_repository;          // --model-repository (required)
  std::string grpc_address = "0.0.0.0";  // --grpc-address
  int grpc_port = 8001;                  // --grpc-port; 0 picks a free port and prints it
  bool allow_http = true;                // --allow-http
  std::string http_address = "0.0.0.0";  // --http-address
  int http_port = 8000;                  // --http-port; 0 picks a free port and prints it
  int http_thread_count = 256;           // --http-thread-count
  // --http-max-body-bytes; when not given, the value of --grpc-max-message-bytes.
  int64_t http_max_body_bytes = 256 << 20;
  bool allow_metrics = true;                   // --allow-metrics
  std::string metrics_address = "0.0.0.0";     // --metrics-address
  int metrics_port = 8002;                     // --metrics-port; 0 picks a free port and prints it
  int exit_timeout_secs = 30;                  // --exit-timeout-secs
  int drain_period_secs = 0;                   // --drain-period-secs
  int64_t grpc_max_message_bytes = 256 << 20;  // --grpc-max-message-bytes
  // --max-input-elements, --max-request-elements, --max-queued-bytes-per-model (0: no limit).
  RequestLimits limits;
  std::string model_control_mode = "none";  // --model-control-mode: none, poll or explicit
  std::vector<std::string> load_models;     // --load-model (repeatable; "*" for all)
  int repository_poll_secs = 15;            // --repository-poll-secs
  int heap_release_interval_ms = 5000;      // --heap-release-interval-ms (0: never)
  int malloc_arena_max = 2;                 // --malloc-arena-max (0: glibc's choice)
  int malloc_mmap_threshold_mb = 1024;      // --malloc-mmap-threshold-mb (0: glibc's choice)
  int onednn_primitive_cache = 8192;  // --onednn-primitive-cache (0: oneDNN's 1024)
  // Transport security of one port: TLS with a server certificate and key (PEM files), and with
  // `verify_clients` the client's certificate must be signed by `root_cert`.
  struct Tls {
    bool enabled = false;
    std::string server_cert;  // path of the PEM certificate (chain) the server presents
    std::string server_key;   // path of its PEM private key
    std::string root_cert;    // path of the PEM CA certificates that sign client certificates
    bool verify_clients = false;
  };
  // --grpc-use-ssl, --grpc-server-cert, --grpc-server-key, --grpc-root-cert,
  // --grpc-use-ssl-mutual (Triton's names).
  Tls grpc_tls;
  // --metrics-use-ssl, --metrics-server-cert, --metrics-server-key, --metrics-root-cert,
  // --metrics-use-ssl-mutual: the same for the metrics port.
  Tls metrics_tls;
  bool help = false;  // --help
};

// Parses `args` (without the program name). Accepts --flag=value and --flag value; booleans also
// as a bare --flag. Unknown flags, missing values and out-of-range numbers are errors that name
// the flag and the value received.
absl::StatusOr<ServerFlags> ParseServerFlags(const std::vector<std::string>& args);

// The --help text: every flag with its meaning and default.
std::string ServerUsage();

}  // namespace speech

#endif  // SPEECH_SERVER_FLAGS_H_
