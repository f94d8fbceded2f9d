// Soak of the real speech_server (issue 13): the default repository under SOAK_SECONDS (default
// 60; `--test_env=SOAK_SECONDS=300` for the five-minute run) of mixed load from kClients
// closed-loop clients, each with its own gRPC channel and HTTP connection: tiny FastPitch with
// varied symbol counts and wav2vec 2.0 with varied lengths over unary gRPC, over REST and a few at
// a time on ModelStreamInfer streams, and one request in ten deliberately bad. Every good request
// must succeed with the output shapes its input implies, every bad one must get exactly its status
// code, /metrics must count what was sent, the server must still be ready, and its resident
// memory, sampled every second, must grow by less than kMaxGrowth from the end of the warm-up (the
// first quarter of the run, at least kMinWarmUpSeconds) to the end of the run. The server gives
// freed heap pages back every 5 s (--heap-release-interval-ms), so its resident size is a
// sawtooth, and how high a tooth reaches depends on which long requests happened to run together
// in it (one burst of long FastPitch requests adds 50 MiB for a second). So each end is the median
// of a window that spans two release intervals: a leak lifts the whole window, a burst does not.
// The tops of both windows are reported beside it.
//
// Which inputs: by default (SOAK_LENGTHS=pool, what CI runs) every good request is one of a fixed
// pool of kPoolSize texts and kPoolSize utterances, lengths spread over the whole range, drawn at
// random. The caches that grow with every new shape (oneDNN keeps a kernel per convolution shape,
// up to --onednn-primitive-cache entries; glibc's heaps spread with the sizes they have served)
// then fill during the warm-up, and any growth after it is what serving the same work again
// costs: a leak. SOAK_LENGTHS=random draws a new length for every request, as real traffic does;
// there the caches fill for minutes (BENCHMARKS.md, "Soak"), so the bound needs a long run.
// Under a sanitizer malloc is the sanitizer's (ASan's quarantine, TSan's shadow), so resident
// memory says nothing about the server's: the load and every other check still run, the bound
// does not.
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/inference_client.h"
#include "client/tensor_util.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "tests/e2e/reliability/resident_memory.h"
#include "tests/harness/metrics_scrape.h"
#include "tests/harness/server_process.h"

namespace speech {
namespace {

using Json = nlohmann::json;
using Request = inference::ModelInferRequest;
using Response = inference::ModelInferResponse;

#if defined(__SANITIZE_ADDRESS__) || defined(SPEECH_THREAD_SANITIZER)
constexpr bool kGlibcMalloc = false;
#else
constexpr bool kGlibcMalloc = true;
#endif

constexpr int kClients = 4;
constexpr int kDefaultSoakSeconds = 60;
constexpr int kPoolSize = 16;  // distinct requests per model with SOAK_LENGTHS=pool
constexpr int kMinWarmUpSeconds = 10;
// Resident memory at the end of the warm-up and at the end of the run: each the median of this
// many one-second samples (two of the server's default heap release intervals).
constexpr int kWindowSeconds = 10;
// The shortest run that leaves room for both windows after the shortest warm-up.
constexpr int kMinSoakSeconds = kMinWarmUpSeconds + 2 * kWindowSeconds;
constexpr double kMaxGrowth = 0.05;
// Generous for two loaded cores (and ASan): a request answered later than this is an error.
constexpr absl::Duration kDeadline = absl::Seconds(120);
// How many requests each ModelStreamInfer call carries.
constexpr int kPerStream = 3;

// FastPitch's symbol set is [0, kSymbols), 0 its pad (a text of pads only is refused, so good
// texts draw from [kFirstSymbol, kSymbols)); wav2vec 2.0 needs at least kMinSamples (one frame).
constexpr int64_t kSymbols = 148;
constexpr int64_t kFirstSymbol = 1;
constexpr int64_t kMinSamples = 400;
constexpr int64_t kMaxSamples = 48000;  // 3 s at 16 kHz
constexpr int64_t kMaxTestSymbols = 256;

int SoakSeconds() {
  const char* text = std::getenv("SOAK_SECONDS");
  if (text == nullptr || *text == '\0') return kDefaultSoakSeconds;
  int seconds = 0;
  if (!absl::SimpleAtoi(text, &seconds) || seconds < kMinSoakSeconds) {
    ADD_FAILURE() << "SOAK_SECONDS must be a whole number of at least " << kMinSoakSeconds
                  << "; was '" << text << "'";
    return kDefaultSoakSeconds;
  }
  return seconds;
}

// Whether each good request is drawn from a fixed pool (SOAK_LENGTHS=pool, the default) rather
// than made with a new random length (SOAK_LENGTHS=random).
bool FromPool() {
  const char* text = std::getenv("SOAK_LENGTHS");
  if (text == nullptr || *text == '\0' || std::string(text) == "pool") return true;
  if (std::string(text) == "random") return false;
  ADD_FAILURE() << "SOAK_LENGTHS must be 'pool' or 'random'; was '" << text << "'";
  return true;
}

// The frames wav2vec 2.0's feature encoder makes of `samples` (its seven convolutions, kernel
// and stride each, as models/export/wav2vec2.py builds them).
int64_t Wav2Vec2Frames(int64_t samples) {
  constexpr std::pair<int64_t, int64_t> kConvolutions[] = {{10, 5}, {3, 2}, {3, 2}, {3, 2},
                                                           {3, 2},  {2, 2}, {2, 2}};
  for (const auto& [kernel, stride] : kConvolutions) samples = (samples - kernel) / stride + 1;
  return samples;
}

HostTensor Generated(absl::StatusOr<HostTensor> tensor) {
  EXPECT_TRUE(tensor.ok()) << tensor.status();
  return tensor.ok() ? *std::move(tensor) : HostTensor();
}

// A good request and the length that decides its reply's shapes.
struct Good {
  std::string model;   // "fastpitch" or "wav2vec2"
  int64_t length = 0;  // symbols or samples
  HostTensor input;
};

Good FastPitch(int64_t symbols, uint64_t seed) {
  return {"fastpitch", symbols,
          Generated(GenerateInput("INPUT__0", "INT64", {1, symbols}, FillMode::kRandom, seed,
                                  kFirstSymbol, kSymbols))};
}

Good Wav2Vec2(int64_t samples, uint64_t seed) {
  return {"wav2vec2", samples,
          Generated(GenerateInput("AUDIO", "FP32", {1, samples}, FillMode::kRandom, seed))};
}

// Where the good requests come from: a fixed pool per model, or a new length every time.
// Thread-safe: const after construction.
class GoodRequests {
 public:
  explicit GoodRequests(bool pooled) : pooled_(pooled) {
    if (!pooled) return;
    for (int i = 0; i < kPoolSize; ++i) {  // lengths evenly over each model's range
      fastpitch_.push_back(FastPitch(1 + i * (kMaxTestSymbols - 1) / (kPoolSize - 1), 1000 + i));
      wav2vec2_.push_back(
          Wav2Vec2(kMinSamples + i * (kMaxSamples - kMinSamples) / (kPoolSize - 1), 2000 + i));
    }
  }

  Good NextFastPitch(std::mt19937_64& rng) const {
    if (pooled_) return fastpitch_[rng() % fastpitch_.size()];
    return FastPitch(std::uniform_int_distribution<int64_t>(1, kMaxTestSymbols)(rng), rng());
  }

  Good NextWav2Vec2(std::mt19937_64& rng) const {
    if (pooled_) return wav2vec2_[rng() % wav2vec2_.size()];
    return Wav2Vec2(std::uniform_int_distribution<int64_t>(kMinSamples, kMaxSamples)(rng), rng());
  }

 private:
  const bool pooled_;
  std::vector<Good> fastpitch_;
  std::vector<Good> wav2vec2_;
};

std::string Describe(const Good& good) {
  return absl::StrCat(good.model, " (", good.length,
                      good.model == "fastpitch" ? " symbols)" : " samples)");
}

std::string Shape(const HostTensor& tensor) {
  return absl::StrCat(tensor.name, " [", absl::StrJoin(tensor.shape, ", "), "]");
}

// Empty when `response` is a plausible reply to `good`: the outputs its model declares, in
// order, with the shapes the input's length implies; otherwise what is wrong.
std::string Implausible(const Good& good, const Response& response) {
  absl::StatusOr<std::vector<HostTensor>> outputs = OutputsFromResponse(response);
  if (!outputs.ok()) return outputs.status().ToString();
  std::vector<std::string> shapes;
  for (const HostTensor& output : *outputs) shapes.push_back(Shape(output));
  const std::string got = absl::StrJoin(shapes, ", ");
  const std::vector<HostTensor>& out = *outputs;
  const int64_t n = good.length;
  if (good.model == "fastpitch") {
    // The mel [1, 80, frames], its frame count [1, 1], and per symbol the durations [1, n],
    // pitch [1, 1, n] and energy [1, n].
    const bool plausible = out.size() == 5 && out[0].shape.size() == 3 && out[0].shape[0] == 1 &&
                           out[0].shape[1] == 80 && out[0].shape[2] >= 1 &&
                           out[1].shape == std::vector<int64_t>{1, 1} &&
                           AsVector<int64_t>(out[1]) == std::vector<int64_t>{out[0].shape[2]} &&
                           out[2].shape == std::vector<int64_t>{1, n} &&
                           out[3].shape == std::vector<int64_t>{1, 1, n} &&
                           out[4].shape == std::vector<int64_t>{1, n};
    if (!plausible) return absl::StrCat("implausible outputs: ", got);
    for (float value : AsVector<float>(out[0])) {
      if (!std::isfinite(value)) return absl::StrCat("a mel value is ", value);
    }
    return "";
  }
  const int64_t frames = Wav2Vec2Frames(n);
  const bool plausible = out.size() == 2 && out[0].shape == std::vector<int64_t>{1, frames, 32} &&
                         out[1].shape == std::vector<int64_t>{1, 1} &&
                         AsVector<int64_t>(out[1]) == std::vector<int64_t>{frames};
  return plausible ? "" : absl::StrCat("implausible outputs (", frames, " frames expected): ", got);
}

// A request built to be refused with `code`, a part of the message it must get, and the model
// whose failure counter counts it ("" when it is refused before a model is found).
struct BadGrpc {
  std::string what;
  Request request;
  absl::StatusCode code;
  std::string message;
  std::string counted_by;
};

Request OneInput(const std::string& model, HostTensor tensor) {
  return MakeInferRequest(model, "", {std::move(tensor)}, {});
}

std::vector<BadGrpc> BadGrpcRequests() {
  constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
  constexpr absl::StatusCode kNotFound = absl::StatusCode::kNotFound;
  const auto symbols = [](int64_t count, int64_t value) {
    const std::vector<int64_t> ids(count, value);
    return HostTensor{"INPUT__0",
                      "INT64",
                      {1, count},
                      std::string(reinterpret_cast<const char*>(ids.data()), 8 * ids.size())};
  };
  const auto audio = [](int64_t samples, float value) {
    const std::vector<float> values(samples, value);
    return HostTensor{"AUDIO",
                      "FP32",
                      {1, samples},
                      std::string(reinterpret_cast<const char*>(values.data()), 4 * samples)};
  };
  Request wrong_version = OneInput("fastpitch", symbols(8, 5));
  wrong_version.set_model_version("7");
  return {
      {"a symbol outside the set", OneInput("fastpitch", symbols(16, kSymbols)), kInvalid,
       "expected values in [0, 147]", "fastpitch"},
      {"text over the length cap", OneInput("fastpitch", symbols(513, 5)), kInvalid,
       "above the maximum 512", "fastpitch"},
      {"audio shorter than a frame", OneInput("wav2vec2", audio(kMinSamples - 1, 0.1f)), kInvalid,
       "below the minimum 400", "wav2vec2"},
      {"audio holding NaN", OneInput("wav2vec2", audio(1600, std::nanf(""))), kInvalid,
       "expected finite values", "wav2vec2"},
      {"audio as INT32",
       OneInput("wav2vec2", HostTensor{"AUDIO", "INT32", {1, 1600}, std::string(6400, '\0')}),
       kInvalid, "does not match FP32", "wav2vec2"},
      {"an unknown model", OneInput("nope", symbols(8, 5)), kNotFound, "unknown model", ""},
      {"an unknown version", wrong_version, kNotFound, "has no version '7'", ""},
  };
}

// The REST counterparts: a POST refused with an HTTP status.
struct BadRest {
  std::string what;
  std::string path;
  std::string body;
  int status;
  std::string message;
  std::string counted_by;
};

std::vector<BadRest> BadRestRequests() {
  const std::string symbol_out_of_set =
      R"({"inputs": [{"name": "INPUT__0", "shape": [1, 3], "datatype": "INT64",
          "data": [3, 148, 7]}]})";
  Json short_audio = {{"name", "AUDIO"}, {"shape", {1, kMinSamples - 1}}, {"datatype", "FP32"}};
  short_audio["data"] = std::vector<float>(kMinSamples - 1, 0.1f);
  return {
      {"a symbol outside the set", "/v2/models/fastpitch/infer", symbol_out_of_set, 400,
       "expected values in [0, 147]", "fastpitch"},
      {"audio shorter than a frame", "/v2/models/wav2vec2/infer",
       Json{{"inputs", Json::array({short_audio})}}.dump(), 400, "below the minimum 400",
       "wav2vec2"},
      {"malformed JSON", "/v2/models/fastpitch/infer", R"({"inputs": [{"name": )", 400, "malformed",
       ""},
      {"an unknown model", "/v2/models/nope/infer", symbol_out_of_set, 404, "unknown model", ""},
  };
}

// The REST request for `good`: FastPitch's symbols as JSON data, wav2vec 2.0's audio as a binary
// section; every output binary. Sets `headers` for the binary section.
std::string RestBody(const Good& good, httplib::Headers* headers) {
  Json input = {
      {"name", good.input.name}, {"shape", good.input.shape}, {"datatype", good.input.datatype}};
  std::string binary;
  if (good.model == "fastpitch") {
    input["data"] = AsVector<int64_t>(good.input);
  } else {
    input["parameters"] = {{"binary_data_size", good.input.bytes.size()}};
    binary = good.input.bytes;
  }
  const std::string json =
      Json{{"inputs", Json::array({input})}, {"parameters", {{"binary_data_output", true}}}}.dump();
  if (!binary.empty()) {
    headers->emplace("Inference-Header-Content-Length", std::to_string(json.size()));
  }
  return json + binary;
}

// A REST reply whose outputs are all binary, as the gRPC reply it stands for.
absl::StatusOr<Response> FromRest(const httplib::Response& reply) {
  size_t json_length = reply.body.size();
  if (reply.has_header("Inference-Header-Content-Length") &&
      (!absl::SimpleAtoi(reply.get_header_value("Inference-Header-Content-Length"), &json_length) ||
       json_length > reply.body.size())) {
    return absl::InvalidArgumentError("bad Inference-Header-Content-Length");
  }
  const Json json = Json::parse(reply.body.substr(0, json_length), nullptr, false);
  if (!json.is_object() || !json.contains("outputs")) {
    return absl::InvalidArgumentError(absl::StrCat("not a reply: ", reply.body.substr(0, 200)));
  }
  Response response;
  size_t offset = json_length;
  try {
    for (const Json& output : json.at("outputs")) {
      inference::ModelInferResponse::InferOutputTensor* tensor = response.add_outputs();
      tensor->set_name(output.at("name").get<std::string>());
      tensor->set_datatype(output.at("datatype").get<std::string>());
      for (int64_t dim : output.at("shape")) tensor->add_shape(dim);
      const size_t size = output.at("parameters").at("binary_data_size").get<size_t>();
      if (offset + size > reply.body.size()) return absl::InvalidArgumentError("short binary data");
      response.add_raw_output_contents(reply.body.substr(offset, size));
      offset += size;
    }
  } catch (const Json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(error.what(), " in ", json.dump()));
  }
  if (offset != reply.body.size()) {
    return absl::InvalidArgumentError("binary data past the outputs");
  }
  return response;
}

// What one client saw. Not synchronised: each client thread has its own, merged at the end.
struct Tally {
  int64_t requests = 0;                    // every inference request sent, each on a stream counted
  int64_t bad = 0;                         // the deliberately bad ones among them
  int64_t rest = 0;                        // sent over REST
  int64_t streamed = 0;                    // sent on streams
  std::map<std::string, int64_t> good;     // good requests, by model
  std::map<std::string, int64_t> refused;  // bad requests that reach a model, by model
  int64_t unexpected = 0;
  std::vector<std::string> first_unexpected;  // the first few, for the failure message

  void Unexpected(std::string what) {
    if (++unexpected <= 10) first_unexpected.push_back(std::move(what));
  }

  void Add(const Tally& other) {
    requests += other.requests;
    bad += other.bad;
    rest += other.rest;
    streamed += other.streamed;
    for (const auto& [model, count] : other.good) good[model] += count;
    for (const auto& [model, count] : other.refused) refused[model] += count;
    unexpected += other.unexpected;
    for (const std::string& what : other.first_unexpected) {
      if (first_unexpected.size() < 10) first_unexpected.push_back(what);
    }
  }
};

// One closed-loop client: until `end`, requests in a fixed rotation of twenty (started at an
// offset of its own): ten FastPitch and six wav2vec 2.0 requests over gRPC, one of each over
// REST, a stream of kPerStream requests, a bad gRPC request and a bad REST request.
class LoadClient {
 public:
  LoadClient(const ServerProcess& server, const GoodRequests& requests, int index, Tally* tally)
      : requests_(requests), index_(index), rng_(index + 1), tally_(tally), http_("127.0.0.1", server.http_port()) {
    InferenceClient::Options options;
    options.target = server.grpc_target();
    options.default_deadline = kDeadline;
    options.max_attempts = 1;  // every error must reach the test, not be retried away
    absl::StatusOr<std::unique_ptr<InferenceClient>> client = InferenceClient::Create(options);
    if (client.ok()) {
      grpc_ = *std::move(client);
    } else {
      tally_->Unexpected(client.status().ToString());
    }
    http_.set_keep_alive(true);
    http_.set_tcp_nodelay(true);
    http_.set_read_timeout(absl::ToInt64Seconds(kDeadline));
  }

  void Run(absl::Time end) {
    if (grpc_ == nullptr) return;
    const std::vector<BadGrpc> bad_grpc = BadGrpcRequests();
    const std::vector<BadRest> bad_rest = BadRestRequests();
    for (int64_t i = 0; absl::Now() < end; ++i) {
      const int64_t slot = (i + 5 * index_) % 20;
      if (slot < 10) {
        Unary(requests_.NextFastPitch(rng_));
      } else if (slot < 16) {
        Unary(requests_.NextWav2Vec2(rng_));
      } else if (slot == 16) {
        Rest(rng_() % 2 == 0 ? requests_.NextFastPitch(rng_) : requests_.NextWav2Vec2(rng_));
      } else if (slot == 17) {
        Stream();
      } else if (slot == 18) {
        Bad(bad_grpc[(i / 20) % bad_grpc.size()]);
      } else {
        Bad(bad_rest[(i / 20) % bad_rest.size()]);
      }
    }
  }

 private:
  void Sent(const Good& good) {
    ++tally_->requests;
    ++tally_->good[good.model];
  }

  void Unary(const Good& good) {
    Sent(good);
    absl::StatusOr<Response> reply = grpc_->Infer(OneInput(good.model, good.input));
    if (!reply.ok()) {
      return tally_->Unexpected(absl::StrCat(Describe(good), ": ", reply.status().ToString()));
    }
    if (std::string wrong = Implausible(good, *reply); !wrong.empty()) {
      tally_->Unexpected(absl::StrCat(Describe(good), ": ", wrong));
    }
  }

  void Rest(const Good& good) {
    Sent(good);
    ++tally_->rest;
    httplib::Headers headers;
    const std::string body = RestBody(good, &headers);
    httplib::Result result = http_.Post(absl::StrCat("/v2/models/", good.model, "/infer").c_str(),
                                        headers, body, "application/json");
    const std::string what = absl::StrCat(Describe(good), " over REST: ");
    if (!result) return tally_->Unexpected(what + httplib::to_string(result.error()));
    if (result->status != 200) {
      return tally_->Unexpected(absl::StrCat(what, result->status, " ", result->body));
    }
    absl::StatusOr<Response> reply = FromRest(*result);
    if (!reply.ok()) return tally_->Unexpected(what + reply.status().ToString());
    if (std::string wrong = Implausible(good, *reply); !wrong.empty()) {
      tally_->Unexpected(what + wrong);
    }
  }

  // kPerStream requests written at once on one stream, then every reply read.
  void Stream() {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kDeadline));
    std::unique_ptr<grpc::ClientReaderWriter<Request, inference::ModelStreamInferResponse>> stream =
        grpc_->stub()->ModelStreamInfer(&context);
    std::map<std::string, Good> sent;
    for (int k = 0; k < kPerStream; ++k) {
      Good good = k % 2 == 0 ? requests_.NextFastPitch(rng_) : requests_.NextWav2Vec2(rng_);
      Request request = OneInput(good.model, good.input);
      request.set_id(absl::StrCat("stream-", k));
      Sent(good);
      ++tally_->streamed;
      if (!stream->Write(request)) break;
      sent.emplace(request.id(), std::move(good));
    }
    stream->WritesDone();
    int answered = 0;
    inference::ModelStreamInferResponse response;
    while (stream->Read(&response)) {
      auto good = sent.find(response.infer_response().id());
      if (good == sent.end()) {
        tally_->Unexpected(
            absl::StrCat("a stream reply to no request: '", response.infer_response().id(), "'"));
        continue;
      }
      ++answered;
      const std::string what = absl::StrCat(Describe(good->second), " on a stream: ");
      if (!response.error_message().empty()) {
        tally_->Unexpected(what + response.error_message());
      } else if (std::string wrong = Implausible(good->second, response.infer_response());
                 !wrong.empty()) {
        tally_->Unexpected(what + wrong);
      }
    }
    const grpc::Status finished = stream->Finish();
    if (!finished.ok() || answered != kPerStream) {
      tally_->Unexpected(absl::StrCat("a stream ended ", finished.error_code(), " (",
                                      finished.error_message(), ") with ", answered, " of ",
                                      kPerStream, " replies"));
    }
  }

  void Refused(const std::string& counted_by) {
    ++tally_->requests;
    ++tally_->bad;
    if (!counted_by.empty()) ++tally_->refused[counted_by];
  }

  void Bad(const BadGrpc& bad) {
    Refused(bad.counted_by);
    const absl::Status status = grpc_->Infer(bad.request).status();
    if (status.code() != bad.code || !absl::StrContains(status.message(), bad.message)) {
      tally_->Unexpected(absl::StrCat(bad.what, " over gRPC: ", status.ToString(), "; expected ",
                                      absl::StatusCodeToString(bad.code), " with '", bad.message,
                                      "'"));
    }
  }

  void Bad(const BadRest& bad) {
    Refused(bad.counted_by);
    ++tally_->rest;
    httplib::Result result = http_.Post(bad.path.c_str(), bad.body, "application/json");
    if (!result) {
      return tally_->Unexpected(
          absl::StrCat(bad.what, " over REST: ", httplib::to_string(result.error())));
    }
    if (result->status != bad.status || !absl::StrContains(result->body, bad.message)) {
      tally_->Unexpected(absl::StrCat(bad.what, " over REST: ", result->status, " ", result->body,
                                      "; expected ", bad.status, " with '", bad.message, "'"));
    }
  }

  const GoodRequests& requests_;
  const int index_;
  std::mt19937_64 rng_;
  Tally* const tally_;
  std::unique_ptr<InferenceClient> grpc_;
  httplib::Client http_;
};

std::string Scrape(const ServerProcess& server) {
  absl::StatusOr<HttpReply> reply = HttpGet(server.metrics_port(), "/metrics");
  EXPECT_TRUE(reply.ok()) << reply.status();
  if (!reply.ok()) return "";
  EXPECT_EQ(reply->status, 200);
  return reply->body;
}

double Sample(const std::string& exposition, const std::string& metric, const std::string& model,
              const std::string& reason = "") {
  const std::string series =
      absl::StrCat(metric, "{model=\"", model, "\",version=\"1\"",
                   reason.empty() ? "" : absl::StrCat(",reason=\"", reason, "\""), "}");
  absl::StatusOr<double> value = SampleValue(exposition, series);
  EXPECT_TRUE(value.ok()) << value.status();
  return value.ok() ? *value : -1;
}

double MiB(int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

// The middle sample of a window (the upper middle one of an even count).
int64_t Median(std::vector<int64_t> samples) {
  const auto middle = samples.begin() + static_cast<std::ptrdiff_t>(samples.size() / 2);
  std::nth_element(samples.begin(), middle, samples.end());
  return *middle;
}

int64_t Top(const std::vector<int64_t>& samples) {
  return *std::max_element(samples.begin(), samples.end());
}

TEST(SoakTest, MixedLoadGetsNoUnexpectedErrorsAndResidentMemoryStaysFlat) {
  const int soak_seconds = SoakSeconds();
  const int warm_up_seconds = std::max(kMinWarmUpSeconds, soak_seconds / 4);
  const bool pooled = FromPool();
  const GoodRequests requests(pooled);
  auto started = ServerProcess::Start("server/speech_server",
                                      {absl::StrCat("--model-repository=", kDefaultRepository)});
  ASSERT_TRUE(started.ok()) << started.status();
  ServerProcess& server = **started;
  ASSERT_GT(server.http_port(), 0) << server.Output();
  ASSERT_GT(server.metrics_port(), 0) << server.Output();
  absl::StatusOr<std::unique_ptr<InferenceClient>> probe =
      InferenceClient::Create(InferenceClient::Options{server.grpc_target()});
  ASSERT_TRUE(probe.ok()) << probe.status();
  ASSERT_TRUE((*probe)->WaitForConnected(absl::Seconds(60)).ok());
  const std::string before = Scrape(server);

  // The load, and resident memory sampled every second while it runs.
  const absl::Time start = absl::Now();
  const absl::Time end = start + absl::Seconds(soak_seconds);
  std::vector<Tally> tallies(kClients);
  std::vector<std::thread> threads;
  for (int c = 0; c < kClients; ++c) {
    threads.emplace_back(
        [&server, &requests, &tallies, c, end] {
          LoadClient(server, requests, c, &tallies[c]).Run(end);
        });
  }
  std::vector<int64_t> resident;  // sample s taken s + 1 seconds after the start
  for (int s = 1; s <= soak_seconds; ++s) {
    absl::SleepFor(start + absl::Seconds(s) - absl::Now());  // a sampling period, not a wait
    absl::StatusOr<int64_t> bytes = ResidentBytes(server.pid());
    if (!bytes.ok()) {
      ADD_FAILURE() << bytes.status() << "\n" << server.Output();
      break;
    }
    resident.push_back(*bytes);
  }
  for (std::thread& thread : threads) thread.join();
  const absl::Duration ran = absl::Now() - start;

  Tally total;
  for (const Tally& tally : tallies) total.Add(tally);
  EXPECT_EQ(total.unexpected, 0) << total.unexpected << " unexpected outcomes, the first:\n"
                                 << absl::StrJoin(total.first_unexpected, "\n");
  for (const char* model : {"fastpitch", "wav2vec2"}) {
    EXPECT_GT(total.good[model], 0) << model;
    EXPECT_GT(total.refused[model], 0) << model;
  }
  EXPECT_GT(total.rest, 0);
  EXPECT_GT(total.streamed, 0);

  // Still ready, over both protocols, and the counters count what was sent.
  absl::StatusOr<bool> ready = (*probe)->ServerReady();
  EXPECT_TRUE(ready.ok() && *ready) << ready.status();
  absl::StatusOr<HttpReply> http_ready = HttpGet(server.http_port(), "/v2/health/ready");
  ASSERT_TRUE(http_ready.ok()) << http_ready.status();
  EXPECT_EQ(http_ready->status, 200);
  const std::string after = Scrape(server);
  for (const char* model : {"fastpitch", "wav2vec2"}) {
    SCOPED_TRACE(model);
    EXPECT_EQ(Sample(after, "nv_inference_request_success", model) -
                  Sample(before, "nv_inference_request_success", model),
              total.good[model]);
    EXPECT_EQ(Sample(after, "nv_inference_request_failure", model, "OTHER") -
                  Sample(before, "nv_inference_request_failure", model, "OTHER"),
              total.refused[model]);
    for (const char* reason : {"REJECTED", "CANCELED", "BACKEND"}) {
      EXPECT_EQ(Sample(after, "nv_inference_request_failure", model, reason),
                Sample(before, "nv_inference_request_failure", model, reason))
          << reason;
    }
    EXPECT_EQ(Sample(after, "nv_inference_pending_request_count", model), 0);
  }

  // Resident memory: right after the warm-up against the end of the run.
  ASSERT_EQ(resident.size(), static_cast<size_t>(soak_seconds));
  const std::vector<int64_t> after_warm_up(resident.begin() + warm_up_seconds,
                                            resident.begin() + warm_up_seconds + kWindowSeconds);
  const std::vector<int64_t> last(resident.end() - kWindowSeconds, resident.end());
  const int64_t at_warm_up = Median(after_warm_up);
  const int64_t at_end = Median(last);
  const int64_t peak = *std::max_element(resident.begin(), resident.end());
  const double growth = static_cast<double>(at_end) / static_cast<double>(at_warm_up) - 1;
  std::cerr << absl::StrFormat(
                   "soak: %d s (%.1f s with the drain of the last requests), %s lengths, %d "
                   "clients: %d "
                   "requests (fastpitch %d, wav2vec2 %d good; %d bad; %d over REST, %d on "
                   "streams), %d unexpected; resident median %.1f MiB (top %.1f) in the %d s after "
                   "the %d s warm-up, %.1f MiB (top %.1f) in the last %d s (%+.2f%%), peak %.1f "
                   "MiB",
                   soak_seconds, absl::ToDoubleSeconds(ran), pooled ? "pooled" : "random", kClients,
                   total.requests,
                   total.good["fastpitch"], total.good["wav2vec2"], total.bad, total.rest,
                   total.streamed, total.unexpected, MiB(at_warm_up), MiB(Top(after_warm_up)),
                   kWindowSeconds, warm_up_seconds, MiB(at_end), MiB(Top(last)), kWindowSeconds,
                   100 * growth, MiB(peak))
            << std::endl;
  std::cerr << "soak: resident MiB by second: "
            << absl::StrJoin(resident, " ",
                             [](std::string* out, int64_t bytes) {
                               absl::StrAppend(out, bytes >> 20);
                             })
            << std::endl;
  if (kGlibcMalloc) {
    EXPECT_LT(growth, kMaxGrowth);
  } else {
    std::cerr << "soak: malloc is a sanitizer's, so the resident-memory bound is not checked"
              << std::endl;
  }

  EXPECT_EQ(server.Stop(), 0) << server.Output();
}

}  // namespace
}  // namespace speech
