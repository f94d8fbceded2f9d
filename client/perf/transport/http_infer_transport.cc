#include "client/perf/transport/http_infer_transport.h"

#include <httplib.h>

#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "client/perf/transport/http_infer_body.h"

namespace speech {

absl::StatusOr<std::unique_ptr<HttpInferTransport>> HttpInferTransport::Create(
    Options options, absl::string_view url) {
  if (absl::Status valid = ValidateHttpClientOptions(options.client); !valid.ok()) return valid;
  if (options.max_async_threads <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_async_threads must be positive; was ", options.max_async_threads));
  }
  absl::StatusOr<HttpEndpoint> endpoint = ParseHttpEndpoint(url);
  if (!endpoint.ok()) return endpoint.status();
  return std::unique_ptr<HttpInferTransport>(
      new HttpInferTransport(std::move(options), *std::move(endpoint)));
}

HttpInferTransport::HttpInferTransport(Options options, HttpEndpoint endpoint)
    : options_(std::move(options)), endpoint_(std::move(endpoint)) {}

HttpInferTransport::~HttpInferTransport() {
  std::vector<std::thread> threads;
  {
    absl::MutexLock lock(&async_mu_);
    stopping_ = true;
    threads.swap(async_threads_);
  }
  for (std::thread& thread : threads) thread.join();
}

InferOutcome HttpInferTransport::Infer(const inference::ModelInferRequest& request) {
  return Run(request, absl::Now());
}

void HttpInferTransport::AsyncInfer(const inference::ModelInferRequest& request,
                                    std::function<void(const InferOutcome&)> done) {
  const absl::Time start = absl::Now();
  absl::MutexLock lock(&async_mu_);
  queue_.push_back(AsyncRequest{&request, std::move(done), start});
  // Idle threads wake by themselves (AsyncLoop's Await); only a request that none of them will
  // take needs a new thread.
  if (static_cast<int>(queue_.size()) > idle_async_threads_ &&
      static_cast<int>(async_threads_.size()) < options_.max_async_threads) {
    async_threads_.emplace_back([this] { AsyncLoop(); });
  }
}

bool HttpInferTransport::HasWorkOrStopping() const { return !queue_.empty() || stopping_; }

void HttpInferTransport::AsyncLoop() {
  async_mu_.Lock();
  while (true) {
    ++idle_async_threads_;
    async_mu_.Await(absl::Condition(this, &HttpInferTransport::HasWorkOrStopping));
    --idle_async_threads_;
    // Stopping with requests still queued: they were accepted, so they run first.
    if (queue_.empty()) break;
    AsyncRequest next = std::move(queue_.front());
    queue_.pop_front();
    async_mu_.Unlock();
    const InferOutcome outcome = Run(*next.request, next.start);
    next.done(outcome);
    async_mu_.Lock();
  }
  async_mu_.Unlock();
}

std::unique_ptr<httplib::Client> HttpInferTransport::TakeClient() {
  {
    absl::MutexLock lock(&clients_mu_);
    if (!idle_clients_.empty()) {
      std::unique_ptr<httplib::Client> client = std::move(idle_clients_.back());
      idle_clients_.pop_back();
      return client;
    }
  }
  return MakeHttpClient(endpoint_, options_.client);
}

void HttpInferTransport::ReturnClient(std::unique_ptr<httplib::Client> client) {
  absl::MutexLock lock(&clients_mu_);
  // Last in, first out: the connection just used is the likeliest to be warm and alive.
  idle_clients_.push_back(std::move(client));
}

InferOutcome HttpInferTransport::Run(const inference::ModelInferRequest& request,
                                     absl::Time start) {
  InferOutcome outcome;
  const absl::Time encode_start = absl::Now();
  absl::StatusOr<HttpInferBody> encoded = EncodeHttpInferRequest(request);
  outcome.send = absl::Now() - encode_start;
  if (!encoded.ok()) {
    outcome.status = encoded.status();
    return outcome;
  }
  const std::string path = ModelRoute(request.model_name(), request.model_version(), "/infer");
  const httplib::Headers headers = {
      {kInferenceHeaderContentLength, std::to_string(encoded->json_length)}};
  const std::string& body = encoded->body;
  std::unique_ptr<httplib::Client> client = TakeClient();
  // A content provider writes the body from our buffer; the overload taking a body copies it.
  httplib::Result result = client->Post(
      path, headers, body.size(),
      [&body](size_t offset, size_t length, httplib::DataSink& sink) {
        return sink.write(body.data() + offset, length);
      },
      "application/octet-stream");
  if (!result) {
    // Its connection is in an unknown state; the next request makes a fresh client.
    outcome.latency = absl::Now() - start;
    outcome.status = StatusFromHttpError(result.error(), endpoint_);
    return outcome;
  }
  ReturnClient(std::move(client));
  if (absl::Status status = StatusFromHttpReply(result->status, result->body); !status.ok()) {
    outcome.latency = absl::Now() - start;
    outcome.status = std::move(status);
    return outcome;
  }
  const absl::Time check_start = absl::Now();
  std::optional<std::string> json_length;
  if (result->has_header(kInferenceHeaderContentLength)) {
    json_length = result->get_header_value(kInferenceHeaderContentLength);
  }
  outcome.status = CheckHttpInferReply(
      request, json_length ? std::optional<absl::string_view>(*json_length) : std::nullopt,
      result->body);
  const absl::Time end = absl::Now();
  outcome.recv = end - check_start;
  outcome.latency = end - start;
  return outcome;
}

}  // namespace speech
