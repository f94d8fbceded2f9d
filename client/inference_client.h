// A synchronous client for the KServe v2 gRPC inference protocol (Triton-compatible) and the
// standard gRPC health protocol, over one server or several replicas of it (round-robin, with
// UNAVAILABLE retried on the next replica). Every RPC returns absl::Status / absl::StatusOr; gRPC
// errors keep their code and message.
#ifndef SPEECH_CLIENT_INFERENCE_CLIENT_H_
#define SPEECH_CLIENT_INFERENCE_CLIENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/status.h"
#include "proto/grpc_service.grpc.pb.h"
#include "proto/grpc_service.pb.h"
#include "proto/health.grpc.pb.h"

namespace speech {

// Converts a gRPC status to an absl::Status with the same code and message. This is the only
// place the client converts between the two (the numeric codes are identical by design).
absl::Status FromGrpcStatus(const grpc::Status& status);

// Thread-safe: any number of threads may issue calls concurrently on one client. The client owns
// its stubs and shares the channel; the channel outlives the client if anyone else holds it.
//
// One channel spreads the calls over every address of its target with gRPC's round_robin policy,
// which sends each call to the next connected replica and skips the ones it cannot reach. A call
// that ends UNAVAILABLE (a replica refusing at the end of its drain, restarting, or gone) is
// tried again on the next replica, after a backoff, up to Options::max_attempts times.
//
// RPCs fail fast: while no replica can be reached they return UNAVAILABLE once their retries are
// spent (a fraction of a second with the default options) instead of waiting for the deadline.
// Use WaitForConnected() first to give a starting server some time.
class InferenceClient {
 public:
  struct Options {
    // gRPC target, rewritten by ChannelTarget (below): one address, such as "localhost:8001" or
    // "dns:///speech-server-headless:8001" (every address the name resolves to is a replica), or a
    // comma-separated list of replicas' IP addresses, such as "127.0.0.1:8001,127.0.0.1:8011".
    // Must not be empty.
    std::string target = "localhost:8001";

    // Deadline of every call that does not name its own, measured from the start of the call.
    // Must be positive; absl::InfiniteDuration() means no deadline.
    absl::Duration default_deadline = absl::Seconds(30);

    // Largest message the client sends or accepts. Must be positive. Audio and spectrograms are
    // large, so the default is well above gRPC's 4 MiB.
    int max_message_size_bytes = 256 << 20;

    // How many times a call that ends UNAVAILABLE is tried; 1 turns retries off. In [1, 5] (5 is
    // gRPC's own cap). It bounds two layers:
    //  - gRPC's retry policy, in the channel's service config, covers every RPC made on the
    //    channel (stub() and channel() users too): up to max_attempts attempts, each picked afresh
    //    by round_robin, so on the next replica. gRPC cannot retry a call whose reply had begun
    //    (the server had sent its headers) or whose request outgrew the retry buffer (here
    //    max_message_size_bytes per call, 256 MiB for the channel).
    //  - Infer, when a call still ends UNAVAILABLE while some replica is connected, makes the
    //    call again, up to max_attempts calls; with no replica connected it returns at once.
    // So an Infer makes at most max_attempts^2 attempts (9 by default), within its deadline. A
    // channel passed to Create keeps its own service config; only Infer's layer applies to it.
    int max_attempts = 3;

    // The waits before retries, in both layers: before retry n (1, 2, ...) a random time below
    // min(initial_backoff * 2^(n-1), max_backoff). Never past the call's deadline. Both must be
    // positive and finite, and initial_backoff at most max_backoff.
    absl::Duration initial_backoff = absl::Milliseconds(50);
    absl::Duration max_backoff = absl::Milliseconds(500);
  };

  // Creates a client with an insecure channel to `options.target`. Does not connect: the channel
  // connects on the first call (or WaitForConnected). Returns INVALID_ARGUMENT for bad options.
  static absl::StatusOr<std::unique_ptr<InferenceClient>> Create(Options options);

  // As above over an existing channel (for example a server's in-process channel in tests);
  // `options.target` and `options.max_message_size_bytes` are then only informational.
  static absl::StatusOr<std::unique_ptr<InferenceClient>> Create(
      Options options, std::shared_ptr<grpc::Channel> channel);

  InferenceClient(const InferenceClient&) = delete;
  InferenceClient& operator=(const InferenceClient&) = delete;

  // Waits until the channel is connected. Returns OK once it is READY (with several replicas: once
  // any one is), and UNAVAILABLE as soon as connecting fails (TRANSIENT_FAILURE: with several
  // replicas, every one has failed) or when `timeout` passes first. A non-positive timeout only
  // checks the current state.
  absl::Status WaitForConnected(absl::Duration timeout) const;

  // Health and metadata. `version` empty lets the server choose by its version policy.
  absl::StatusOr<bool> ServerLive() const;
  absl::StatusOr<bool> ServerReady() const;
  absl::StatusOr<bool> ModelReady(absl::string_view name, absl::string_view version = "") const;
  absl::StatusOr<inference::ServerMetadataResponse> ServerMetadata() const;
  absl::StatusOr<inference::ModelMetadataResponse> ModelMetadata(
      absl::string_view name, absl::string_view version = "") const;
  absl::StatusOr<inference::ModelConfigResponse> ModelConfig(absl::string_view name,
                                                             absl::string_view version = "") const;
  // An empty `name` asks for every model; an empty `version` for every version.
  absl::StatusOr<inference::ModelStatisticsResponse> ModelStatistics(
      absl::string_view name = "", absl::string_view version = "") const;
  // `ready_only` lists only the models that are ready.
  absl::StatusOr<inference::RepositoryIndexResponse> RepositoryIndex(bool ready_only = false) const;
  // Triton's model control (servers in --model-control-mode=explicit): loads or reloads `name`,
  // with `config_json` (a model configuration in JSON) replacing its config.pbtxt when given;
  // returns once the model serves, or with why not.
  absl::Status LoadModel(absl::string_view name,
                         const std::optional<std::string>& config_json = std::nullopt) const;
  // Stops serving `name` (and, with `unload_dependents`, the ensembles that run it).
  absl::Status UnloadModel(absl::string_view name, bool unload_dependents = false) const;

  // Triton's system shared-memory extension: registers `byte_size` bytes at `offset` of the POSIX
  // shared-memory object `key` (a name for shm_open) as region `name`; lists the regions (all
  // when `name` is empty); unregisters one, or all when `name` is empty.
  absl::Status RegisterSystemSharedMemory(absl::string_view name, absl::string_view key,
                                          uint64_t byte_size, uint64_t offset = 0) const;
  absl::StatusOr<inference::SystemSharedMemoryStatusResponse> SystemSharedMemoryStatus(
      absl::string_view name = "") const;
  absl::Status UnregisterSystemSharedMemory(absl::string_view name = "") const;

  // grpc.health.v1.Health/Check. An empty `service` asks about the server as a whole; servers
  // answer NOT_FOUND for a service they do not know.
  absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> HealthCheck(
      absl::string_view service = "") const;

  // ModelInfer with the default deadline, or with `timeout` from now; the deadline covers every
  // retry (see Options::max_attempts). A non-positive timeout is an immediate deadline:
  // DEADLINE_EXCEEDED without sending anything. After retries the last status is returned.
  absl::StatusOr<inference::ModelInferResponse> Infer(
      const inference::ModelInferRequest& request) const;
  absl::StatusOr<inference::ModelInferResponse> Infer(const inference::ModelInferRequest& request,
                                                      absl::Duration timeout) const;

  // For calls this class does not wrap (streaming, repository control). Owned by the client.
  inference::GRPCInferenceService::Stub* stub() const { return stub_.get(); }
  grpc::health::v1::Health::Stub* health_stub() const { return health_stub_.get(); }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  const Options& options() const { return options_; }

 private:
  InferenceClient(Options options, std::shared_ptr<grpc::Channel> channel);

  // Runs `rpc` with a fresh context whose deadline is `timeout` from now.
  template <typename Rpc>
  absl::Status Call(absl::Duration timeout, Rpc rpc) const;

  // Constant after construction.
  const Options options_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
  const std::unique_ptr<grpc::health::v1::Health::Stub> health_stub_;
};

// The gRPC target for `addresses`. One address is returned as it is (a name, "ipv4:" or "dns:///"
// URI and so on, as gRPC reads it). A comma-separated list of IP addresses with ports, spaces
// around the commas allowed, becomes gRPC's static list: "127.0.0.1:8001, 127.0.0.1:8011" ->
// "ipv4:127.0.0.1:8001,127.0.0.1:8011", "[::1]:8001,[::1]:8011" -> "ipv6:[::1]:8001,[::1]:8011".
// INVALID_ARGUMENT for an empty entry, a port outside 1..65535, IPv4 mixed with IPv6, or a host
// name in a list (a gRPC channel resolves one name: give a DNS name that resolves to every
// replica, such as a headless Kubernetes Service, instead).
absl::StatusOr<std::string> ChannelTarget(absl::string_view addresses);

// The service config (JSON) of a channel made by Create: round_robin over every address of the
// target and, unless `options.max_attempts` is 1, a retry policy for UNAVAILABLE on every method.
// REQUIRES: `options` valid (Create accepts them).
std::string ChannelServiceConfig(const InferenceClient::Options& options);

// The arguments of a channel made by Create: message size limits, ChannelServiceConfig, and the
// retry buffer. For callers that make their own channel (other credentials, say) and want the
// same balancing and retries: grpc::CreateCustomChannel(*ChannelTarget(options.target),
// credentials, MakeChannelArguments(options)). REQUIRES: `options` valid.
grpc::ChannelArguments MakeChannelArguments(const InferenceClient::Options& options);

// The bound of the random wait before retry `retry` (1 for the first): initial_backoff doubled
// for each retry after the first, capped at max_backoff. REQUIRES: retry >= 1.
absl::Duration RetryBackoffBound(const InferenceClient::Options& options, int retry);

}  // namespace speech

#endif  // SPEECH_CLIENT_INFERENCE_CLIENT_H_
