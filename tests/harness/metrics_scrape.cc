#include "tests/harness/metrics_scrape.h"

#include <httplib.h>

#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace speech {

absl::StatusOr<HttpReply> HttpGet(int port, const std::string& path,
                                  const std::map<std::string, std::string>& params) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  httplib::Params query(params.begin(), params.end());
  httplib::Result result = client.Get(path, query, httplib::Headers{});
  if (!result) {
    return absl::UnavailableError(absl::StrCat("GET 127.0.0.1:", port, path,
                                               " failed: ", httplib::to_string(result.error())));
  }
  return HttpReply{result->status, result->body};
}

absl::StatusOr<double> SampleValue(absl::string_view exposition, absl::string_view series) {
  for (absl::string_view line : absl::StrSplit(exposition, '\n')) {
    if (line.size() <= series.size() || line.substr(0, series.size()) != series ||
        line[series.size()] != ' ') {
      continue;
    }
    double value = 0;
    if (!absl::SimpleAtod(line.substr(series.size() + 1), &value)) {
      return absl::InvalidArgumentError(absl::StrCat("bad sample line: ", line));
    }
    return value;
  }
  return absl::NotFoundError(absl::StrCat("no sample ", series));
}

absl::StatusOr<double> QueryValue(absl::string_view reply) {
  const std::string text(reply);
  if (text.find("\"status\":\"success\"") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("query failed: ", text));
  }
  static const std::regex* const kValue =
      new std::regex(R"re("value":\[[0-9.eE+-]+,"([^"]+)"\])re");
  std::smatch match;
  if (!std::regex_search(text, match, *kValue)) {
    return absl::NotFoundError(absl::StrCat("empty result: ", text));
  }
  const std::string value = match[1].str();
  if (value == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (value == "+Inf") return std::numeric_limits<double>::infinity();
  if (value == "-Inf") return -std::numeric_limits<double>::infinity();
  double parsed = 0;
  if (!absl::SimpleAtod(value, &parsed)) {
    return absl::InvalidArgumentError(absl::StrCat("bad value in ", text));
  }
  return parsed;
}

}  // namespace speech
