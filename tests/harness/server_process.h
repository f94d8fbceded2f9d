// Starts the real speech_server binary as a child process for end-to-end tests, on a free port,
// and stops it with SIGTERM. Test-only.
#ifndef SPEECH_TESTS_HARNESS_SERVER_PROCESS_H_
#define SPEECH_TESTS_HARNESS_SERVER_PROCESS_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace speech {

// Not thread-safe. Owns the child process: the destructor stops it if Stop was not called.
class ServerProcess {
 public:
  // Starts `binary` (a runfiles-relative path such as "server/speech_server") on loopback with
  // --grpc-port=0 --http-port=0 --metrics-port=0 plus `extra_flags`, and waits until it prints
  // the gRPC port it listens on (after the HTTP one). Fails if the process exits or prints nothing
  // within `startup_seconds`.
  static absl::StatusOr<std::unique_ptr<ServerProcess>> Start(
      const std::string& binary, const std::vector<std::string>& extra_flags,
      int startup_seconds = 120);

  ~ServerProcess();

  // "127.0.0.1:<port>" of the gRPC service.
  const std::string& grpc_target() const { return grpc_target_; }
  // The HTTP/REST port, or 0 when the server printed none (--allow-http=false).
  int http_port() const { return http_port_; }
  // The metrics port, or 0 when the server printed none.
  int metrics_port() const { return metrics_port_; }
  // The server's process id (for reading /proc/<pid>/status).
  pid_t pid() const { return pid_; }
  // Everything the server printed on stdout and stderr so far (for failure messages).
  std::string Output() const;

  // Sends SIGTERM and waits; returns the exit code (or 128 + signal).
  int Stop();
  // Sends `signal` and returns at once.
  void Signal(int signal);
  // Waits for the process to exit; returns the exit code (or 128 + signal).
  int Wait();

 private:
  ServerProcess() = default;

  pid_t pid_ = -1;
  std::string grpc_target_;
  int http_port_ = 0;
  int metrics_port_ = 0;
  std::string log_path_;
};

// The runfiles-relative path of the default model repository made by //models:default_repository.
inline constexpr char kDefaultRepository[] = "models/repository";

}  // namespace speech

#endif  // SPEECH_TESTS_HARNESS_SERVER_PROCESS_H_
