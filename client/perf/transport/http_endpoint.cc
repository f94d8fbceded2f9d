#include "client/perf/transport/http_endpoint.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

// Enough of a body that is not JSON to recognise it (an HTML error page of a proxy, say).
constexpr size_t kQuotedBodyBytes = 200;

void AppendPercentEncoded(absl::string_view segment, std::string* out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const char c : segment) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out->push_back(c);
    } else {
      const auto byte = static_cast<unsigned char>(c);
      out->push_back('%');
      out->push_back(kHex[byte >> 4]);
      out->push_back(kHex[byte & 0xF]);
    }
  }
}

// Whole microseconds: httplib takes seconds and microseconds.
template <typename Set>
void SetTimeout(absl::Duration timeout, Set set) {
  const int64_t us = absl::ToInt64Microseconds(timeout);
  set(static_cast<time_t>(us / 1000000), static_cast<time_t>(us % 1000000));
}

}  // namespace

std::string HttpEndpoint::ToString() const {
  return absl::StrContains(host, ':') ? absl::StrCat("[", host, "]:", port)
                                      : absl::StrCat(host, ":", port);
}

absl::StatusOr<HttpEndpoint> ParseHttpEndpoint(absl::string_view url) {
  const absl::string_view original = url;
  auto error = [original](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("bad HTTP address \"", original, "\": ", why,
                                                   " (expected HOST:PORT, e.g. localhost:8000)"));
  };
  if (const size_t scheme_end = url.find("://"); scheme_end != absl::string_view::npos) {
    if (absl::AsciiStrToLower(url.substr(0, scheme_end)) != "http") {
      return error("only http:// is supported");
    }
    url.remove_prefix(scheme_end + 3);
  }
  if (absl::EndsWith(url, "/")) url.remove_suffix(1);
  if (absl::StrContains(url, '/')) return error("it must not have a path");
  HttpEndpoint endpoint;
  absl::string_view port;
  if (absl::StartsWith(url, "[")) {
    const size_t close = url.find(']');
    if (close == absl::string_view::npos) return error("unclosed '['");
    endpoint.host = std::string(url.substr(1, close - 1));
    const absl::string_view rest = url.substr(close + 1);
    if (!rest.empty() && !absl::StartsWith(rest, ":")) return error("junk after ']'");
    if (!rest.empty()) port = rest.substr(1);
  } else if (const size_t colon = url.rfind(':'); colon != absl::string_view::npos) {
    endpoint.host = std::string(url.substr(0, colon));
    port = url.substr(colon + 1);
    if (absl::StrContains(endpoint.host, ':')) return error("an IPv6 address needs [brackets]");
  } else {
    endpoint.host = std::string(url);
  }
  if (endpoint.host.empty()) return error("no host");
  if (!port.empty() || absl::EndsWith(url, ":")) {
    if (!absl::SimpleAtoi(port, &endpoint.port) || endpoint.port < 1 || endpoint.port > 65535) {
      return error("the port must be in [1, 65535]");
    }
  }
  return endpoint;
}

absl::Status ValidateHttpClientOptions(const HttpClientOptions& options) {
  if (options.connect_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("connect_timeout must be positive; was ",
                                                   absl::FormatDuration(options.connect_timeout)));
  }
  if (options.io_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("io_timeout must be positive; was ",
                                                   absl::FormatDuration(options.io_timeout)));
  }
  return absl::OkStatus();
}

std::unique_ptr<httplib::Client> MakeHttpClient(const HttpEndpoint& endpoint,
                                                const HttpClientOptions& options) {
  auto client = std::make_unique<httplib::Client>(endpoint.host, endpoint.port);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  SetTimeout(options.connect_timeout,
             [&](time_t s, time_t us) { client->set_connection_timeout(s, us); });
  SetTimeout(options.io_timeout, [&](time_t s, time_t us) {
    client->set_read_timeout(s, us);
    client->set_write_timeout(s, us);
  });
  return client;
}

std::string ModelRoute(absl::string_view model, absl::string_view version,
                       absl::string_view suffix) {
  std::string route = "/v2/models/";
  AppendPercentEncoded(model, &route);
  if (!version.empty()) {
    route += "/versions/";
    AppendPercentEncoded(version, &route);
  }
  absl::StrAppend(&route, suffix);
  return route;
}

absl::StatusCode StatusCodeFromHttp(int http_status) {
  if (http_status >= 200 && http_status < 300) return absl::StatusCode::kOk;
  switch (http_status) {
    case 400:
      return absl::StatusCode::kInvalidArgument;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kNotFound;
    case 409:
      return absl::StatusCode::kAborted;
    case 429:
      return absl::StatusCode::kResourceExhausted;
    case 499:
      return absl::StatusCode::kCancelled;
    case 501:
      return absl::StatusCode::kUnimplemented;
    case 503:
      return absl::StatusCode::kUnavailable;
    case 504:
      return absl::StatusCode::kDeadlineExceeded;
    default:
      break;
  }
  if (http_status >= 400 && http_status < 500) return absl::StatusCode::kInvalidArgument;
  if (http_status >= 500 && http_status < 600) return absl::StatusCode::kInternal;
  return absl::StatusCode::kUnknown;
}

absl::Status StatusFromHttpReply(int http_status, absl::string_view body) {
  const absl::StatusCode code = StatusCodeFromHttp(http_status);
  if (code == absl::StatusCode::kOk) return absl::OkStatus();
  const nlohmann::json json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object()) {
    const auto error = json.find("error");
    if (error != json.end() && error->is_string()) {
      return absl::Status(code, error->get<std::string>());
    }
  }
  if (body.empty()) return absl::Status(code, absl::StrCat("HTTP ", http_status));
  return absl::Status(code,
                      absl::StrCat("HTTP ", http_status, ": ", body.substr(0, kQuotedBodyBytes),
                                   body.size() > kQuotedBodyBytes ? "..." : ""));
}

absl::Status StatusFromHttpError(httplib::Error error, const HttpEndpoint& endpoint) {
  const std::string message =
      absl::StrCat("no HTTP reply from ", endpoint.ToString(), ": ", httplib::to_string(error));
  if (error == httplib::Error::ConnectionTimeout) return absl::DeadlineExceededError(message);
  return absl::UnavailableError(message);
}

}  // namespace speech
