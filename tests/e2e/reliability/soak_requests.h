// The soak test's requests (soak_e2e_test.cc) to the default repository's tiny FastPitch and
// wav2vec 2.0: good ones, from a fixed pool or with a new length each time, the check that a reply
// fits the request it answers, and bad ones with the status each must get, over gRPC and REST.
// Failures to build a request are reported as gtest failures.
#ifndef SPEECH_TESTS_E2E_RELIABILITY_SOAK_REQUESTS_H_
#define SPEECH_TESTS_E2E_RELIABILITY_SOAK_REQUESTS_H_

#include <httplib.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/tensor_util.h"
#include "proto/grpc_service.pb.h"

namespace speech {

// A good request and the length that decides its reply's shapes.
struct Good {
  std::string model;   // "fastpitch" or "wav2vec2"
  int64_t length = 0;  // symbols or samples
  HostTensor input;
};

// Where the good requests come from: a fixed pool of kPoolSize per model, lengths spread evenly
// over each model's range, or a new random length every time. Thread-safe: const after
// construction (each caller brings its own generator).
class GoodRequests {
 public:
  static constexpr int kPoolSize = 16;

  explicit GoodRequests(bool pooled);

  Good NextFastPitch(std::mt19937_64& rng) const;
  Good NextWav2Vec2(std::mt19937_64& rng) const;

 private:
  const bool pooled_;
  std::vector<Good> fastpitch_;
  std::vector<Good> wav2vec2_;
};

// "fastpitch (12 symbols)", for messages.
std::string Describe(const Good& good);

// Empty when `response` is a plausible reply to `good`: the outputs its model declares, in
// order, with the shapes the input's length implies; otherwise what is wrong.
std::string Implausible(const Good& good, const inference::ModelInferResponse& response);

inference::ModelInferRequest OneInput(const std::string& model, HostTensor tensor);

// A request built to be refused with `code`, a part of the message it must get, and the model
// whose failure counter counts it ("" when it is refused before a model is found).
struct BadGrpc {
  std::string what;
  inference::ModelInferRequest request;
  absl::StatusCode code;
  std::string message;
  std::string counted_by;
};

std::vector<BadGrpc> BadGrpcRequests();

// The REST counterparts: a POST refused with an HTTP status.
struct BadRest {
  std::string what;
  std::string path;
  std::string body;
  int status;
  std::string message;
  std::string counted_by;
};

std::vector<BadRest> BadRestRequests();

// The REST request for `good`: FastPitch's symbols as JSON data, wav2vec 2.0's audio as a binary
// section; every output binary. Sets `headers` for the binary section.
std::string RestBody(const Good& good, httplib::Headers* headers);

// A REST reply whose outputs are all binary, as the gRPC reply it stands for.
absl::StatusOr<inference::ModelInferResponse> FromRest(const httplib::Response& reply);

}  // namespace speech

#endif  // SPEECH_TESTS_E2E_RELIABILITY_SOAK_REQUESTS_H_
