// A fake replica of the inference server for failover tests: a real gRPC server on a loopback TCP
// port whose ModelInfer echoes its inputs, or refuses with UNAVAILABLE the way a draining server
// does (a Trailers-Only reply) or after it has sent its headers (a reply gRPC cannot retry). It
// counts the calls that reached it.
#ifndef SPEECH_TESTS_FAKES_FAKE_REPLICA_H_
#define SPEECH_TESTS_FAKES_FAKE_REPLICA_H_

#include <atomic>
#include <memory>
#include <string>

#include "grpcpp/server.h"
#include "proto/grpc_service.grpc.pb.h"

namespace speech {

// Thread-safe: gRPC calls the service on its own threads; the setters and counters may be used
// from any thread. Owns its server; the destructor shuts it down.
class FakeReplica {
 public:
  enum class Mode {
    kServe,               // echo every input back as an output of the same name
    kRefuse,              // UNAVAILABLE with nothing before it, as a server past its drain
    kRefuseAfterHeaders,  // initial metadata first, then UNAVAILABLE
  };

  // Listens on 127.0.0.1 at a port the system chooses; null if it cannot.
  static std::unique_ptr<FakeReplica> Start();

  ~FakeReplica();

  // "127.0.0.1:<port>".
  const std::string& address() const { return address_; }

  void set_mode(Mode mode) { mode_.store(mode); }
  // Every ModelInfer that arrived, and those of them answered OK.
  int infer_calls() const { return infer_calls_.load(); }
  int served() const { return served_.load(); }

  // Stops listening and closes its connections at once. Idempotent; from one thread at a time.
  void Shutdown();

 private:
  class Service;
  FakeReplica();

  std::atomic<Mode> mode_{Mode::kServe};
  std::atomic<int> infer_calls_{0};
  std::atomic<int> served_{0};
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace speech

#endif  // SPEECH_TESTS_FAKES_FAKE_REPLICA_H_
