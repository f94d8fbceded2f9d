#include "server/http/http_service.h"

#include <httplib.h>
#include <sys/socket.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/grpc_service.pb.h"
#include "server/http/http_route.h"
#include "server/http/http_status.h"
#include "server/http/json/control_json.h"
#include "server/http/json/infer_request_json.h"
#include "server/http/json/infer_response_json.h"
#include "server/http/json/message_json.h"
#include "server/http/transport/connection_server.h"
#include "server/http/transport/elastic_thread_pool.h"

namespace speech {
namespace {

using Json = nlohmann::ordered_json;

constexpr char kJson[] = "application/json";
constexpr char kBinary[] = "application/octet-stream";
constexpr char kHeaderLength[] = "Inference-Header-Content-Length";
// Connections that may wait to be accepted; httplib's own backlog is 5.
constexpr int kListenBacklog = 1024;

void ReplyError(const absl::Status& status, httplib::Response* reply) {
  reply->status = HttpStatusFromCode(status.code());
  reply->set_content(ErrorBody(status.message()), kJson);
}

void ReplyJson(const Json& json, httplib::Response* reply) {
  reply->status = kHttpOk;
  reply->set_content(json.dump(-1, ' ', false, Json::error_handler_t::replace), kJson);
}

void ReplyMessage(const google::protobuf::Message& message, httplib::Response* reply) {
  absl::StatusOr<Json> json = MessageToJson(message);
  if (!json.ok()) return ReplyError(json.status(), reply);
  ReplyJson(*json, reply);
}

// 200 with no body, or the error.
void ReplyOkOrError(const absl::Status& status, httplib::Response* reply) {
  if (!status.ok()) return ReplyError(status, reply);
  reply->status = kHttpOk;
}

template <typename Response>
void ReplyMessageOrError(const absl::Status& status, const Response& message,
                         httplib::Response* reply) {
  if (!status.ok()) return ReplyError(status, reply);
  ReplyMessage(message, reply);
}

// The request's path without its query, for messages.
absl::string_view PathOf(const httplib::Request& request) {
  absl::string_view target = request.target;
  return target.substr(0, target.find('?'));
}

// True when the request carries a body that nobody has read yet.
bool HasBody(const httplib::Request& request) {
  uint64_t length = 0;
  return request.has_header("Transfer-Encoding") ||
         (absl::SimpleAtoi(request.get_header_value("Content-Length"), &length) && length > 0);
}

// The repository index request of POST /v2/repository/index: an optional {"ready": bool}.
}  // namespace

absl::StatusOr<std::unique_ptr<HttpService>> HttpService::Create(InferenceCore* core,
                                                                 Options options) {
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("http port must be in [0, 65535]; was ", options.port));
  }
  if (options.thread_count < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("thread_count must be positive; was ", options.thread_count));
  }
  if (options.max_body_bytes < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_body_bytes must be positive; was ", options.max_body_bytes));
  }
  if (options.keep_alive_seconds < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("keep_alive_seconds must be positive; was ", options.keep_alive_seconds));
  }
  std::unique_ptr<HttpService> service(new HttpService(core, std::move(options)));
  const Options& o = service->options_;
  ConnectionServer* server = service->server_.get();
  const size_t threads = static_cast<size_t>(o.thread_count);
  server->new_task_queue = [threads] { return new ElasticThreadPool(threads); };
  // httplib's default also sets SO_REUSEPORT, which would let a second server share the port
  // silently; a busy port must be an error.
  server->set_socket_options([](socket_t socket) {
    int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Bounded only so that the Keep-Alive header stays readable.
  server->set_keep_alive_max_count(1000000);
  server->set_keep_alive_timeout(o.keep_alive_seconds);
  server->set_payload_max_length(static_cast<size_t>(o.max_body_bytes));
  HttpService* self = service.get();
  server->set_pre_routing_handler(
      [self](const httplib::Request& request, httplib::Response& reply) {
        return self->PreRoute(request, &reply) ? httplib::Server::HandlerResponse::Handled
                                               : httplib::Server::HandlerResponse::Unhandled;
      });
  server->set_expect_100_continue_handler(
      [self](const httplib::Request& request, httplib::Response& reply) {
        return self->ExpectContinue(request, &reply);
      });
  server->Post(".*", [self](const httplib::Request& request, httplib::Response& reply,
                            const httplib::ContentReader& read_body) {
    self->ServeWithBody(request, &reply, read_body);
  });
  int port = o.port;
  if (port == 0) {
    port = server->bind_to_any_port(o.address);
  } else if (!server->bind_to_port(o.address, port)) {
    port = -1;
  }
  if (port <= 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen for HTTP on ", o.address, ":", o.port));
  }
  server->SetListenBacklog(kListenBacklog);
  service->port_ = port;
  {
    absl::MutexLock lock(&service->mu_);
    service->listener_ = std::thread([server] { server->listen_after_bind(); });
  }
  // httplib's stop() does nothing until the accept loop runs, so Shutdown could otherwise miss
  // it. The socket already listens: connections made meanwhile wait in its backlog.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (!server->is_running() && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
  if (!server->is_running()) {
    service->Shutdown();
    return absl::InternalError("the HTTP server did not start within 10 s");
  }
  return service;
}

HttpService::HttpService(InferenceCore* core, Options options)
    : core_(core), options_(std::move(options)), server_(std::make_unique<ConnectionServer>()) {}

HttpService::~HttpService() { Shutdown(); }

void HttpService::StopAccepting() {
  absl::MutexLock lock(&mu_);
  StopLocked();
}

void HttpService::StopLocked() {
  // httplib's stop() must run once: a second call while the accept loop winds down asserts.
  if (stopped_ || !listener_.joinable()) return;
  stopped_ = true;
  server_->stop();
}

void HttpService::Shutdown() {
  absl::MutexLock lock(&mu_);
  StopLocked();
  if (listener_.joinable()) listener_.join();
}

bool HttpService::RefuseIfTooLarge(const httplib::Request& request,
                                   httplib::Response* reply) const {
  uint64_t length = 0;
  if (!absl::SimpleAtoi(request.get_header_value("Content-Length"), &length) ||
      length <= static_cast<uint64_t>(options_.max_body_bytes)) {
    return false;
  }
  reply->status = kHttpPayloadTooLarge;
  reply->set_content(
      ErrorBody(absl::StrCat("the request body has ", length, " bytes; this server takes at most ",
                             options_.max_body_bytes, " (--http-max-body-bytes)")),
      kJson);
  if (ConnectionServer::Connection* connection = ConnectionServer::Current()) {
    connection->CloseAfterReply(reply);
  }
  return true;
}

int HttpService::ExpectContinue(const httplib::Request& request, httplib::Response* reply) const {
  return RefuseIfTooLarge(request, reply) ? kHttpPayloadTooLarge : 100;
}

bool HttpService::PreRoute(const httplib::Request& request, httplib::Response* reply) const {
  const RestRoute route = MatchRestRoute(request.method, request.target);
  if (route.match == RestRoute::Match::kFound && route.takes_body) {
    // The POST handler reads the body, unless it is too large to read at all.
    return RefuseIfTooLarge(request, reply);
  }
  if (route.match == RestRoute::Match::kFound) {
    Serve(route, request, "", reply);
  } else if (route.match == RestRoute::Match::kWrongMethod) {
    reply->status = kHttpMethodNotAllowed;
    reply->set_header("Allow", route.allowed);
    reply->set_content(ErrorBody(absl::StrCat("method ", request.method, " is not allowed on ",
                                              PathOf(request), "; it takes ", route.allowed)),
                       kJson);
  } else {
    reply->status = kHttpNotFound;
    reply->set_content(
        ErrorBody(absl::StrCat("no KServe v2 route for ", request.method, " ", PathOf(request))),
        kJson);
  }
  // Nobody reads the body of these: the next request would start inside it.
  ConnectionServer::Connection* connection = ConnectionServer::Current();
  if (HasBody(request) && connection != nullptr) connection->CloseAfterReply(reply);
  return true;
}

void HttpService::ServeWithBody(const httplib::Request& request, httplib::Response* reply,
                                const httplib::ContentReader& read_body) const {
  const RestRoute route = MatchRestRoute(request.method, request.target);
  // A request with neither Content-Length nor Transfer-Encoding has no body (RFC 9112 6.3);
  // httplib would read one until the client closes. Python's geventhttpclient sends these.
  if (!HasBody(request)) return Serve(route, request, "", reply);
  std::string body;
  uint64_t declared = 0;
  if (absl::SimpleAtoi(request.get_header_value("Content-Length"), &declared)) {
    body.reserve(static_cast<size_t>(declared));  // at most max_body_bytes (PreRoute)
  }
  bool too_large = false;
  const size_t limit = static_cast<size_t>(options_.max_body_bytes);
  const bool complete = read_body([&](const char* data, size_t size) {
    if (size > limit - body.size()) {
      too_large = true;
      return false;
    }
    body.append(data, size);
    return true;
  });
  if (!complete) {
    const int status = too_large           ? kHttpPayloadTooLarge
                       : reply->status > 0 ? reply->status
                                           : kHttpBadRequest;
    const std::string message =
        too_large ? absl::StrCat("the request body is larger than ", options_.max_body_bytes,
                                 " bytes, the most this server takes (--http-max-body-bytes)")
                  : absl::StrCat("the request body could not be read (HTTP ", status, ")");
    reply->status = status;
    reply->set_content(ErrorBody(message), kJson);
    if (ConnectionServer::Connection* connection = ConnectionServer::Current()) {
      connection->CloseAfterReply(reply);
    }
    return;
  }
  Serve(route, request, body, reply);
}

void HttpService::Serve(const RestRoute& route, const httplib::Request& request,
                        absl::string_view body, httplib::Response* reply) const {
  switch (route.operation) {
    case RestOperation::kServerLive:
      reply->status = core_->ServerLive() ? kHttpOk : kHttpBadRequest;
      return;
    case RestOperation::kServerReady:
      reply->status = core_->ServerReady() ? kHttpOk : kHttpBadRequest;
      return;
    case RestOperation::kServerMetadata: {
      inference::ServerMetadataResponse response;
      core_->ServerMetadata(&response);
      return ReplyMessage(response, reply);
    }
    case RestOperation::kModelMetadata: {
      inference::ModelMetadataRequest message;
      message.set_name(route.model);
      message.set_version(route.version);
      inference::ModelMetadataResponse response;
      const absl::Status status = core_->ModelMetadata(message, &response);
      return ReplyMessageOrError(status, response, reply);
    }
    case RestOperation::kModelReady: {
      inference::ModelReadyRequest message;
      message.set_name(route.model);
      message.set_version(route.version);
      if (core_->ModelReady(message)) {
        reply->status = kHttpOk;
        return;
      }
      reply->status = kHttpBadRequest;
      reply->set_content(ErrorBody(absl::StrCat(
                             "model '", route.model, "'", route.version.empty() ? "" : " version '",
                             route.version, route.version.empty() ? "" : "'", " is not ready")),
                         kJson);
      return;
    }
    case RestOperation::kModelConfig: {
      inference::ModelConfigRequest message;
      message.set_name(route.model);
      message.set_version(route.version);
      inference::ModelConfigResponse response;
      const absl::Status status = core_->ModelConfig(message, &response);
      // Triton answers the configuration itself, not a {"config": ...} wrapper.
      return ReplyMessageOrError(status, response.config(), reply);
    }
    case RestOperation::kAllModelStatistics:
    case RestOperation::kModelStatistics: {
      inference::ModelStatisticsRequest message;
      message.set_name(route.model);
      message.set_version(route.version);
      inference::ModelStatisticsResponse response;
      const absl::Status status = core_->ModelStatistics(message, &response);
      SetAllMessageFields(&response);
      return ReplyMessageOrError(status, response, reply);
    }
    case RestOperation::kRepositoryIndex: {
      inference::RepositoryIndexRequest message;
      if (absl::Status status = ParseIndexRequest(body, &message); !status.ok()) {
        return ReplyError(status, reply);
      }
      inference::RepositoryIndexResponse response;
      core_->RepositoryIndex(message, &response);
      absl::StatusOr<Json> json = MessageToJson(response);
      if (!json.ok()) return ReplyError(json.status(), reply);
      // Triton answers the list itself.
      auto models = json->find("models");
      return ReplyJson(models == json->end() ? Json::array() : *models, reply);
    }
    case RestOperation::kModelLoad: {
      inference::RepositoryModelLoadRequest message;
      if (absl::Status status = ParseLoadRequest(body, &message); !status.ok()) {
        return ReplyError(status, reply);
      }
      message.set_model_name(route.model);
      absl::Status status = core_->RepositoryModelLoad(message);
      return ReplyOkOrError(status, reply);
    }
    case RestOperation::kModelUnload: {
      inference::RepositoryModelUnloadRequest message;
      if (absl::Status status = ParseUnloadRequest(body, &message); !status.ok()) {
        return ReplyError(status, reply);
      }
      message.set_model_name(route.model);
      absl::Status status = core_->RepositoryModelUnload(message);
      return ReplyOkOrError(status, reply);
    }
    case RestOperation::kSharedMemoryStatus: {
      inference::SystemSharedMemoryStatusRequest message;
      message.set_name(route.region);
      inference::SystemSharedMemoryStatusResponse response;
      const absl::Status status = core_->SystemSharedMemoryStatus(message, &response);
      return status.ok() ? ReplyJson(SharedMemoryStatusJson(response), reply)
                         : ReplyError(status, reply);
    }
    case RestOperation::kSharedMemoryRegister: {
      inference::SystemSharedMemoryRegisterRequest message;
      absl::Status status = ParseSharedMemoryRegisterRequest(body, route.region, &message);
      if (status.ok()) status = core_->SystemSharedMemoryRegister(message);
      return ReplyOkOrError(status, reply);
    }
    case RestOperation::kSharedMemoryUnregister: {
      inference::SystemSharedMemoryUnregisterRequest message;
      message.set_name(route.region);
      const absl::Status status = core_->SystemSharedMemoryUnregister(message);
      return ReplyOkOrError(status, reply);
    }
    case RestOperation::kCudaSharedMemoryStatus: {
      inference::CudaSharedMemoryStatusRequest message;
      message.set_name(route.region);
      inference::CudaSharedMemoryStatusResponse response;
      const absl::Status status = core_->CudaSharedMemoryStatus(message, &response);
      return status.ok() ? ReplyJson(Json::array(), reply) : ReplyError(status, reply);
    }
    case RestOperation::kCudaSharedMemoryRegister: {
      inference::CudaSharedMemoryRegisterRequest message;
      message.set_name(route.region);
      return ReplyError(core_->CudaSharedMemoryRegister(message), reply);
    }
    case RestOperation::kCudaSharedMemoryUnregister: {
      inference::CudaSharedMemoryUnregisterRequest message;
      message.set_name(route.region);
      const absl::Status status = core_->CudaSharedMemoryUnregister(message);
      return ReplyOkOrError(status, reply);
    }
    case RestOperation::kModelInfer:
      return Infer(route, request, body, reply);
  }
}

void HttpService::Infer(const RestRoute& route, const httplib::Request& request,
                        absl::string_view body, httplib::Response* reply) const {
  std::optional<size_t> json_length;
  if (request.has_header(kHeaderLength)) {
    absl::StatusOr<size_t> length =
        ParseJsonHeaderLength(request.get_header_value(kHeaderLength), body.size());
    if (!length.ok()) return ReplyError(length.status(), reply);
    json_length = *length;
  }
  RestInferRequest parsed;
  if (absl::Status status = ParseRestInferRequest(body, json_length, &parsed); !status.ok()) {
    return ReplyError(status, reply);
  }
  parsed.message.set_model_name(route.model);
  parsed.message.set_model_version(route.version);
  // No deadline travels over HTTP (Triton has none either): the "timeout" parameter is the
  // queue timeout, as over gRPC. A client that hangs up cancels its request.
  CallContext call;
  if (ConnectionServer::Connection* connection = ConnectionServer::Current()) {
    call.is_cancelled = connection->ClientGoneCheck();
  }
  inference::ModelInferResponse response;
  absl::Status status;
  absl::Notification done;
  core_->StartInference(&parsed.message, std::move(call), &response,
                        [&status, &done](absl::Status result) {
                          status = std::move(result);
                          done.Notify();
                        });
  done.WaitForNotification();
  if (!status.ok()) return ReplyError(status, reply);
  absl::StatusOr<RestInferReply> encoded = EncodeRestInferReply(&response, parsed.outputs);
  if (!encoded.ok()) return ReplyError(encoded.status(), reply);
  reply->status = kHttpOk;
  if (encoded->json_length.has_value()) {
    reply->set_header(kHeaderLength, std::to_string(*encoded->json_length));
    reply->set_header("Content-Type", kBinary);
  } else {
    reply->set_header("Content-Type", kJson);
  }
  reply->body = std::move(encoded->body);
}

}  // namespace speech
