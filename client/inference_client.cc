#include "client/inference_client.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "grpc/grpc.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace speech {
namespace {

// gRPC ignores any retry policy's attempts beyond five.
constexpr int kMaxAttemptsCap = 5;

absl::Status ValidateOptions(const InferenceClient::Options& options) {
  if (options.target.empty()) return absl::InvalidArgumentError("target must not be empty");
  if (options.default_deadline <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("default_deadline must be positive; was ",
                                                   absl::FormatDuration(options.default_deadline)));
  }
  if (options.max_message_size_bytes <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("max_message_size_bytes must be positive; was ",
                                                   options.max_message_size_bytes));
  }
  if (options.max_attempts < 1 || options.max_attempts > kMaxAttemptsCap) {
    return absl::InvalidArgumentError(absl::StrCat("max_attempts must be in [1, ", kMaxAttemptsCap,
                                                   "]; was ", options.max_attempts));
  }
  if (options.initial_backoff <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("initial_backoff must be positive; was ",
                                                   absl::FormatDuration(options.initial_backoff)));
  }
  if (options.max_backoff == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError("max_backoff must be finite");
  }
  if (options.max_backoff < options.initial_backoff) {
    return absl::InvalidArgumentError(absl::StrCat("max_backoff must be at least initial_backoff (",
                                                   absl::FormatDuration(options.initial_backoff),
                                                   "); was ",
                                                   absl::FormatDuration(options.max_backoff)));
  }
  return absl::OkStatus();
}

// An IP literal with its port, from a list of replicas.
enum class Family { kIpv4, kIpv6 };

// "A.B.C.D:PORT" or "[IPV6]:PORT" -> its family; anything else (a host name above all) is an
// error that says what a list takes.
absl::StatusOr<Family> ParseIpAddress(const absl::string_view entry) {
  const auto error = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("address \"", entry, "\" in a list of replicas ", why));
  };
  std::string host;
  absl::string_view port;
  if (absl::string_view bracketed = entry; absl::ConsumePrefix(&bracketed, "[")) {
    const size_t close = bracketed.find("]:");
    if (close == absl::string_view::npos) return error("needs the form [IPV6]:PORT");
    host = std::string(bracketed.substr(0, close));
    port = bracketed.substr(close + 2);
  } else {
    const size_t colon = entry.rfind(':');
    if (colon == absl::string_view::npos) return error("has no port (HOST:PORT)");
    host = std::string(entry.substr(0, colon));
    port = entry.substr(colon + 1);
    if (host.find(':') != std::string::npos) return error("needs brackets: [IPV6]:PORT");
  }
  int port_number = 0;
  if (port.empty() || !std::all_of(port.begin(), port.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(port, &port_number) || port_number < 1 || port_number > 65535) {
    return error("needs a port in 1..65535");
  }
  unsigned char bytes[16];
  if (inet_pton(AF_INET, host.c_str(), bytes) == 1) return Family::kIpv4;
  if (inet_pton(AF_INET6, host.c_str(), bytes) == 1) return Family::kIpv6;
  return error(
      "is not an IP address; a list takes IP addresses only (for names, give one DNS name that "
      "resolves to every replica, e.g. dns:///speech-server-headless:8001)");
}

// gRPC's JSON duration: seconds with up to nine decimals and an "s".
std::string JsonDuration(absl::Duration duration) {
  const int64_t nanos = absl::ToInt64Nanoseconds(duration);
  return absl::StrFormat("\"%d.%09ds\"", nanos / 1000000000, nanos % 1000000000);
}

const char* ConnectivityStateName(grpc_connectivity_state state) {
  switch (state) {
    case GRPC_CHANNEL_IDLE:
      return "IDLE";
    case GRPC_CHANNEL_CONNECTING:
      return "CONNECTING";
    case GRPC_CHANNEL_READY:
      return "READY";
    case GRPC_CHANNEL_TRANSIENT_FAILURE:
      return "TRANSIENT_FAILURE";
    case GRPC_CHANNEL_SHUTDOWN:
      return "SHUTDOWN";
  }
  return "UNKNOWN";
}

}  // namespace

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  // grpc::StatusCode and absl::StatusCode share their numbering (0..16).
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::StatusOr<std::string> ChannelTarget(absl::string_view addresses) {
  // One address, or a list already written as gRPC's URI, is gRPC's to read.
  if (addresses.find(',') == absl::string_view::npos || absl::StartsWith(addresses, "ipv4:") ||
      absl::StartsWith(addresses, "ipv6:")) {
    return std::string(addresses);
  }
  std::vector<std::string> entries;
  Family family = Family::kIpv4;
  for (absl::string_view entry : absl::StrSplit(addresses, ',')) {
    entry = absl::StripAsciiWhitespace(entry);
    if (entry.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("empty address in the list of replicas \"", addresses, "\""));
    }
    absl::StatusOr<Family> parsed = ParseIpAddress(entry);
    if (!parsed.ok()) return parsed.status();
    if (!entries.empty() && *parsed != family) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the list of replicas \"", addresses, "\" mixes IPv4 and IPv6 addresses; use one kind"));
    }
    family = *parsed;
    entries.emplace_back(entry);
  }
  return absl::StrCat(family == Family::kIpv4 ? "ipv4:" : "ipv6:", absl::StrJoin(entries, ","));
}

std::string ChannelServiceConfig(const InferenceClient::Options& options) {
  // Every method gets the policy ("name": [{}] is the default method config): each is idempotent
  // (inference, health, metadata) or safe to repeat (model control, shared-memory registration).
  std::string method_config;
  if (options.max_attempts > 1) {
    method_config = absl::StrCat(
        R"(,"methodConfig":[{"name":[{}],"retryPolicy":{"maxAttempts":)", options.max_attempts,
        R"(,"initialBackoff":)", JsonDuration(options.initial_backoff), R"(,"maxBackoff":)",
        JsonDuration(options.max_backoff),
        R"(,"backoffMultiplier":2,"retryableStatusCodes":["UNAVAILABLE"]}}])");
  }
  return absl::StrCat(R"({"loadBalancingConfig":[{"round_robin":{}}])", method_config, "}");
}

absl::Duration RetryBackoffBound(const InferenceClient::Options& options, int retry) {
  absl::Duration bound = options.initial_backoff;
  for (int n = 1; n < retry && bound < options.max_backoff; ++n) bound *= 2;
  return std::min(bound, options.max_backoff);
}

grpc::ChannelArguments MakeChannelArguments(const InferenceClient::Options& options) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_size_bytes);
  args.SetMaxSendMessageSize(options.max_message_size_bytes);
  args.SetServiceConfigJSON(ChannelServiceConfig(options));
  // Ours is the only service config: none from DNS TXT records. Retries are on by default in
  // gRPC 1.51; set anyway, for builds that default otherwise.
  args.SetInt(GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION, 1);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 1);
  // gRPC retries only requests it still holds; the default (256 KiB) is less than a few seconds
  // of audio. The buffer keeps the serialized request the call sends anyway, not a copy.
  args.SetInt(GRPC_ARG_PER_RPC_RETRY_BUFFER_SIZE, options.max_message_size_bytes);
  return args;
}

absl::StatusOr<std::unique_ptr<InferenceClient>> InferenceClient::Create(Options options) {
  absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  absl::StatusOr<std::string> target = ChannelTarget(options.target);
  if (!target.ok()) return target.status();
  std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
      *target, grpc::InsecureChannelCredentials(), MakeChannelArguments(options));
  if (channel == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot create a channel to ", options.target));
  }
  return Create(std::move(options), std::move(channel));
}

absl::StatusOr<std::unique_ptr<InferenceClient>> InferenceClient::Create(
    Options options, std::shared_ptr<grpc::Channel> channel) {
  absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  if (channel == nullptr) return absl::InvalidArgumentError("channel must not be null");
  return std::unique_ptr<InferenceClient>(
      new InferenceClient(std::move(options), std::move(channel)));
}

InferenceClient::InferenceClient(Options options, std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(inference::GRPCInferenceService::NewStub(channel_)),
      health_stub_(grpc::health::v1::Health::NewStub(channel_)) {}

absl::Status InferenceClient::WaitForConnected(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  grpc_connectivity_state state = channel_->GetState(/*try_to_connect=*/true);
  while (true) {
    if (state == GRPC_CHANNEL_READY) return absl::OkStatus();
    if (state == GRPC_CHANNEL_TRANSIENT_FAILURE || state == GRPC_CHANNEL_SHUTDOWN) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", options_.target,
                                                 " (channel ", ConnectivityStateName(state),
                                                 "; is the server running?)"));
    }
    // Returns false when the deadline passes with the state unchanged.
    if (absl::Now() >= deadline ||
        !channel_->WaitForStateChange(state, absl::ToChronoTime(deadline))) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", options_.target, " within ",
                                                 absl::FormatDuration(timeout), " (channel ",
                                                 ConnectivityStateName(state), ")"));
    }
    state = channel_->GetState(/*try_to_connect=*/true);
  }
}

template <typename Rpc>
absl::Status InferenceClient::Call(absl::Duration timeout, Rpc rpc) const {
  // gRPC races a past deadline against a fast reply; an immediate deadline fails for certain.
  if (timeout <= absl::ZeroDuration()) {
    return absl::DeadlineExceededError(
        absl::StrCat("deadline of ", absl::FormatDuration(timeout), " expired before the call"));
  }
  grpc::ClientContext context;
  // An infinite timeout leaves the context without a deadline.
  if (timeout != absl::InfiniteDuration()) {
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  return FromGrpcStatus(rpc(&context));
}

absl::StatusOr<bool> InferenceClient::ServerLive() const {
  inference::ServerLiveRequest request;
  inference::ServerLiveResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->ServerLive(context, request, &response);
  });
  if (!status.ok()) return status;
  return response.live();
}

absl::StatusOr<bool> InferenceClient::ServerReady() const {
  inference::ServerReadyRequest request;
  inference::ServerReadyResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->ServerReady(context, request, &response);
  });
  if (!status.ok()) return status;
  return response.ready();
}

absl::StatusOr<bool> InferenceClient::ModelReady(absl::string_view name,
                                                 absl::string_view version) const {
  inference::ModelReadyRequest request;
  request.set_name(std::string(name));
  request.set_version(std::string(version));
  inference::ModelReadyResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->ModelReady(context, request, &response);
  });
  if (!status.ok()) return status;
  return response.ready();
}

absl::StatusOr<inference::ServerMetadataResponse> InferenceClient::ServerMetadata() const {
  inference::ServerMetadataRequest request;
  inference::ServerMetadataResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->ServerMetadata(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<inference::ModelMetadataResponse> InferenceClient::ModelMetadata(
    absl::string_view name, absl::string_view version) const {
  inference::ModelMetadataRequest request;
  request.set_name(std::string(name));
  request.set_version(std::string(version));
  inference::ModelMetadataResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->ModelMetadata(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<inference::ModelConfigResponse> InferenceClient::ModelConfig(
    absl::string_view name, absl::string_view version) const {
  inference::ModelConfigRequest request;
  request.set_name(std::string(name));
  request.set_version(std::string(version));
  inference::ModelConfigResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->ModelConfig(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<inference::ModelStatisticsResponse> InferenceClient::ModelStatistics(
    absl::string_view name, absl::string_view version) const {
  inference::ModelStatisticsRequest request;
  request.set_name(std::string(name));
  request.set_version(std::string(version));
  inference::ModelStatisticsResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->ModelStatistics(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<inference::RepositoryIndexResponse> InferenceClient::RepositoryIndex(
    bool ready_only) const {
  inference::RepositoryIndexRequest request;
  request.set_ready(ready_only);
  inference::RepositoryIndexResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->RepositoryIndex(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::Status InferenceClient::LoadModel(absl::string_view name,
                                        const std::optional<std::string>& config_json) const {
  inference::RepositoryModelLoadRequest request;
  request.set_model_name(std::string(name));
  if (config_json.has_value()) {
    (*request.mutable_parameters())["config"].set_string_param(*config_json);
  }
  inference::RepositoryModelLoadResponse response;
  // A load warms the model up, which can take longer than a request's default deadline.
  return Call(std::max(options_.default_deadline, absl::Minutes(5)),
              [&](grpc::ClientContext* context) {
                return stub_->RepositoryModelLoad(context, request, &response);
              });
}

absl::Status InferenceClient::UnloadModel(absl::string_view name, bool unload_dependents) const {
  inference::RepositoryModelUnloadRequest request;
  request.set_model_name(std::string(name));
  if (unload_dependents) (*request.mutable_parameters())["unload_dependents"].set_bool_param(true);
  inference::RepositoryModelUnloadResponse response;
  return Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->RepositoryModelUnload(context, request, &response);
  });
}

absl::Status InferenceClient::RegisterSystemSharedMemory(absl::string_view name,
                                                         absl::string_view key, uint64_t byte_size,
                                                         uint64_t offset) const {
  inference::SystemSharedMemoryRegisterRequest request;
  request.set_name(std::string(name));
  request.set_key(std::string(key));
  request.set_byte_size(byte_size);
  request.set_offset(offset);
  inference::SystemSharedMemoryRegisterResponse response;
  return Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->SystemSharedMemoryRegister(context, request, &response);
  });
}

absl::StatusOr<inference::SystemSharedMemoryStatusResponse>
InferenceClient::SystemSharedMemoryStatus(absl::string_view name) const {
  inference::SystemSharedMemoryStatusRequest request;
  request.set_name(std::string(name));
  inference::SystemSharedMemoryStatusResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->SystemSharedMemoryStatus(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

absl::Status InferenceClient::UnregisterSystemSharedMemory(absl::string_view name) const {
  inference::SystemSharedMemoryUnregisterRequest request;
  request.set_name(std::string(name));
  inference::SystemSharedMemoryUnregisterResponse response;
  return Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return stub_->SystemSharedMemoryUnregister(context, request, &response);
  });
}

absl::StatusOr<grpc::health::v1::HealthCheckResponse::ServingStatus> InferenceClient::HealthCheck(
    absl::string_view service) const {
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(std::string(service));
  grpc::health::v1::HealthCheckResponse response;
  absl::Status status = Call(options_.default_deadline, [&](grpc::ClientContext* context) {
    return health_stub_->Check(context, request, &response);
  });
  if (!status.ok()) return status;
  return response.status();
}

absl::StatusOr<inference::ModelInferResponse> InferenceClient::Infer(
    const inference::ModelInferRequest& request) const {
  return Infer(request, options_.default_deadline);
}

absl::StatusOr<inference::ModelInferResponse> InferenceClient::Infer(
    const inference::ModelInferRequest& request, absl::Duration timeout) const {
  // One deadline for the first call and every retry (an infinite timeout stays infinite: absl
  // saturates the arithmetic).
  const absl::Time deadline = absl::Now() + timeout;
  for (int call = 1;; ++call) {
    inference::ModelInferResponse response;
    absl::Status status = Call(deadline - absl::Now(), [&](grpc::ClientContext* context) {
      return stub_->ModelInfer(context, request, &response);
    });
    if (status.ok()) return response;
    // What gRPC's own retries could not save. With no replica connected another call would only
    // fail again (as fast), so it is not made.
    if (status.code() != absl::StatusCode::kUnavailable || call >= options_.max_attempts ||
        channel_->GetState(/*try_to_connect=*/false) != GRPC_CHANNEL_READY) {
      return status;
    }
    // Full jitter, as gRPC's own backoff: clients that failed together do not retry together.
    absl::BitGen random;
    const absl::Duration wait = absl::Uniform(random, 0.0, 1.0) * RetryBackoffBound(options_, call);
    if (absl::Now() + wait >= deadline) return status;
    absl::SleepFor(wait);
  }
}

}  // namespace speech
