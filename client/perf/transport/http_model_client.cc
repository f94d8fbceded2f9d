#include "client/perf/transport/http_model_client.h"

#include <google/protobuf/util/json_util.h>
#include <httplib.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace speech {

absl::StatusOr<std::unique_ptr<HttpModelClient>> HttpModelClient::Create(Options options,
                                                                         absl::string_view url) {
  if (absl::Status valid = ValidateHttpClientOptions(options.client); !valid.ok()) return valid;
  absl::StatusOr<HttpEndpoint> endpoint = ParseHttpEndpoint(url);
  if (!endpoint.ok()) return endpoint.status();
  std::unique_ptr<httplib::Client> client = MakeHttpClient(*endpoint, options.client);
  return std::unique_ptr<HttpModelClient>(
      new HttpModelClient(*std::move(endpoint), std::move(client)));
}

HttpModelClient::HttpModelClient(HttpEndpoint endpoint, std::unique_ptr<httplib::Client> client)
    : endpoint_(std::move(endpoint)), client_(std::move(client)) {}

HttpModelClient::~HttpModelClient() = default;

absl::StatusOr<HttpModelClient::Reply> HttpModelClient::Fetch(const std::string& path) const {
  absl::MutexLock lock(&mu_);
  httplib::Result result = client_->Get(path);
  if (!result) return StatusFromHttpError(result.error(), endpoint_);
  return Reply{result->status, std::move(result->body)};
}

absl::StatusOr<std::string> HttpModelClient::Get(const std::string& path) const {
  absl::StatusOr<Reply> reply = Fetch(path);
  if (!reply.ok()) return reply.status();
  if (absl::Status status = StatusFromHttpReply(reply->status, reply->body); !status.ok()) {
    return status;
  }
  return std::move(reply->body);
}

absl::Status HttpModelClient::GetMessage(const std::string& path,
                                         google::protobuf::Message* message) const {
  absl::StatusOr<std::string> body = Get(path);
  if (!body.ok()) return body.status();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto parsed = google::protobuf::util::JsonStringToMessage(*body, message, options);
  if (!parsed.ok()) {
    return absl::DataLossError(absl::StrCat("the reply to GET ", path, " is not a ",
                                            message->GetTypeName(),
                                            " in JSON: ", std::string(parsed.message())));
  }
  return absl::OkStatus();
}

absl::Status HttpModelClient::CheckLive() const {
  absl::StatusOr<Reply> reply = Fetch("/v2/health/live");
  // No reply at all: a connection timeout is as unreachable as a refusal here.
  if (!reply.ok()) return absl::UnavailableError(reply.status().message());
  const absl::Status status = StatusFromHttpReply(reply->status, reply->body);
  if (status.ok()) return status;
  return absl::UnavailableError(
      absl::StrCat("the server at ", endpoint_.ToString(), " is not live: ", status.message()));
}

absl::StatusOr<inference::ModelMetadataResponse> HttpModelClient::ModelMetadata(
    absl::string_view model, absl::string_view version) const {
  inference::ModelMetadataResponse response;
  absl::Status status = GetMessage(ModelRoute(model, version, ""), &response);
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<inference::ModelConfigResponse> HttpModelClient::ModelConfig(
    absl::string_view model, absl::string_view version) const {
  inference::ModelConfigResponse response;
  absl::Status status =
      GetMessage(ModelRoute(model, version, "/config"), response.mutable_config());
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<inference::ModelStatisticsResponse> HttpModelClient::ModelStatistics(
    absl::string_view model, absl::string_view version) const {
  inference::ModelStatisticsResponse response;
  absl::Status status = GetMessage(ModelRoute(model, version, "/stats"), &response);
  if (!status.ok()) return status;
  return response;
}

}  // namespace speech
