#include "client/inference_client.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace speech {
namespace {

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
  return absl::OkStatus();
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

absl::StatusOr<std::unique_ptr<InferenceClient>> InferenceClient::Create(Options options) {
  absl::Status valid = ValidateOptions(options);
  if (!valid.ok()) return valid;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_size_bytes);
  args.SetMaxSendMessageSize(options.max_message_size_bytes);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(options.target, grpc::InsecureChannelCredentials(), args);
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
  inference::ModelInferResponse response;
  absl::Status status = Call(timeout, [&](grpc::ClientContext* context) {
    return stub_->ModelInfer(context, request, &response);
  });
  if (!status.ok()) return status;
  return response;
}

}  // namespace speech
