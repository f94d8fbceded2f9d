#include "client/perf/transport/infer_transport.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "client/inference_client.h"
#include "grpcpp/client_context.h"
#include "grpcpp/impl/client_unary_call.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/support/byte_buffer.h"

namespace speech {
namespace {

constexpr char kModelInferMethod[] = "/inference.GRPCInferenceService/ModelInfer";

// Serialises `request` into `buffer`, timing it.
absl::Status Serialize(const inference::ModelInferRequest& request, grpc::ByteBuffer* buffer,
                       InferOutcome& outcome) {
  const absl::Time start = absl::Now();
  bool own_buffer = false;
  grpc::Status status = grpc::SerializationTraits<inference::ModelInferRequest>::Serialize(
      request, buffer, &own_buffer);
  outcome.send = absl::Now() - start;
  return FromGrpcStatus(status);
}

// Parses `buffer` as a ModelInferResponse, timing it, and fills in the outcome's status and
// latency. A response that does not parse is an error: the server sent garbage.
void Finish(const grpc::Status& rpc_status, grpc::ByteBuffer* buffer, absl::Time start,
            InferOutcome& outcome) {
  if (rpc_status.ok()) {
    const absl::Time parse_start = absl::Now();
    inference::ModelInferResponse response;
    grpc::Status parsed =
        grpc::SerializationTraits<inference::ModelInferResponse>::Deserialize(buffer, &response);
    const absl::Time end = absl::Now();
    outcome.recv = end - parse_start;
    outcome.latency = end - start;
    outcome.status = parsed.ok()
                         ? absl::OkStatus()
                         : absl::DataLossError(absl::StrCat("cannot parse ModelInferResponse: ",
                                                            parsed.error_message()));
    return;
  }
  outcome.latency = absl::Now() - start;
  outcome.status = FromGrpcStatus(rpc_status);
}

// State of one asynchronous call; deletes itself when done.
struct AsyncCall {
  grpc::ClientContext context;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  absl::Time start;
  InferOutcome outcome;
  std::function<void(const InferOutcome&)> done;
};

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcInferTransport>> GrpcInferTransport::Create(
    Options options, std::shared_ptr<grpc::Channel> channel) {
  if (channel == nullptr) return absl::InvalidArgumentError("channel must not be null");
  if (options.request_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("request timeout must be positive; was ",
                                                   absl::FormatDuration(options.request_timeout)));
  }
  return std::unique_ptr<GrpcInferTransport>(new GrpcInferTransport(options, std::move(channel)));
}

GrpcInferTransport::GrpcInferTransport(Options options, std::shared_ptr<grpc::Channel> channel)
    : options_(options), channel_(channel), generic_stub_(channel) {}

InferOutcome GrpcInferTransport::Infer(const inference::ModelInferRequest& request) {
  InferOutcome outcome;
  const absl::Time start = absl::Now();
  grpc::ByteBuffer request_buffer;
  outcome.status = Serialize(request, &request_buffer, outcome);
  if (!outcome.status.ok()) return outcome;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(start + options_.request_timeout));
  grpc::ByteBuffer response_buffer;
  const grpc::Status status = grpc::internal::BlockingUnaryCall(
      channel_.get(),
      grpc::internal::RpcMethod(kModelInferMethod, grpc::internal::RpcMethod::NORMAL_RPC), &context,
      request_buffer, &response_buffer);
  Finish(status, &response_buffer, start, outcome);
  return outcome;
}

void GrpcInferTransport::AsyncInfer(const inference::ModelInferRequest& request,
                                    std::function<void(const InferOutcome&)> done) {
  auto* call = new AsyncCall;
  call->done = std::move(done);
  call->start = absl::Now();
  call->outcome.status = Serialize(request, &call->request, call->outcome);
  if (!call->outcome.status.ok()) {
    call->done(call->outcome);
    delete call;
    return;
  }
  call->context.set_deadline(absl::ToChronoTime(call->start + options_.request_timeout));
  generic_stub_.UnaryCall(&call->context, kModelInferMethod, grpc::StubOptions(), &call->request,
                          &call->response, [call](grpc::Status status) {
                            Finish(status, &call->response, call->start, call->outcome);
                            call->done(call->outcome);
                            delete call;
                          });
}

}  // namespace speech
