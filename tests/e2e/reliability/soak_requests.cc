#include "tests/e2e/reliability/soak_requests.h"

#include <cmath>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/inference_client.h"
#include "gtest/gtest.h"

namespace speech {
namespace {

using Json = nlohmann::json;
using Request = inference::ModelInferRequest;
using Response = inference::ModelInferResponse;

// FastPitch's symbol set is [0, kSymbols), 0 its pad (a text of pads only is refused, so good
// texts draw from [kFirstSymbol, kSymbols)); wav2vec 2.0 needs at least kMinSamples (one frame).
constexpr int64_t kSymbols = 148;
constexpr int64_t kFirstSymbol = 1;
constexpr int64_t kMinSamples = 400;
constexpr int64_t kMaxSamples = 48000;  // 3 s at 16 kHz
constexpr int64_t kMaxTestSymbols = 256;

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

Good FastPitch(int64_t symbols, uint64_t seed) {
  return {"fastpitch", symbols,
          Generated(GenerateInput("INPUT__0", "INT64", {1, symbols}, FillMode::kRandom, seed,
                                  kFirstSymbol, kSymbols))};
}

Good Wav2Vec2(int64_t samples, uint64_t seed) {
  return {"wav2vec2", samples,
          Generated(GenerateInput("AUDIO", "FP32", {1, samples}, FillMode::kRandom, seed))};
}

std::string Shape(const HostTensor& tensor) {
  return absl::StrCat(tensor.name, " [", absl::StrJoin(tensor.shape, ", "), "]");
}

}  // namespace

GoodRequests::GoodRequests(bool pooled) : pooled_(pooled) {
  if (!pooled) return;
  for (int i = 0; i < kPoolSize; ++i) {
    fastpitch_.push_back(FastPitch(1 + i * (kMaxTestSymbols - 1) / (kPoolSize - 1), 1000 + i));
    wav2vec2_.push_back(
        Wav2Vec2(kMinSamples + i * (kMaxSamples - kMinSamples) / (kPoolSize - 1), 2000 + i));
  }
}

Good GoodRequests::NextFastPitch(std::mt19937_64& rng) const {
  if (pooled_) return fastpitch_[rng() % fastpitch_.size()];
  return FastPitch(std::uniform_int_distribution<int64_t>(1, kMaxTestSymbols)(rng), rng());
}

Good GoodRequests::NextWav2Vec2(std::mt19937_64& rng) const {
  if (pooled_) return wav2vec2_[rng() % wav2vec2_.size()];
  return Wav2Vec2(std::uniform_int_distribution<int64_t>(kMinSamples, kMaxSamples)(rng), rng());
}

std::string Describe(const Good& good) {
  return absl::StrCat(good.model, " (", good.length,
                      good.model == "fastpitch" ? " symbols)" : " samples)");
}

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

}  // namespace speech
