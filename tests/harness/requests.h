// Requests the end-to-end tests send to the default repository's models. Test-only.
#ifndef SPEECH_TESTS_HARNESS_REQUESTS_H_
#define SPEECH_TESTS_HARNESS_REQUESTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/grpc_service.pb.h"

namespace speech {

// `identity`: one row of `elements` FP32 zeros.
inline inference::ModelInferRequest IdentityRequest(int elements = 16) {
  inference::ModelInferRequest request;
  request.set_model_name("identity");
  auto* input = request.add_inputs();
  input->set_name("INPUT0");
  input->set_datatype("FP32");
  input->add_shape(1);
  input->add_shape(elements);
  request.add_raw_input_contents(std::string(elements * sizeof(float), '\0'));
  return request;
}

// `fastpitch`: one row of `symbols` symbol ids, 10 to 49 in turn.
inline inference::ModelInferRequest FastPitchRequest(int symbols = 64) {
  inference::ModelInferRequest request;
  request.set_model_name("fastpitch");
  auto* input = request.add_inputs();
  input->set_name("INPUT__0");
  input->set_datatype("INT64");
  input->add_shape(1);
  input->add_shape(symbols);
  std::vector<int64_t> ids(symbols);
  for (int i = 0; i < symbols; ++i) ids[i] = 10 + i % 40;
  request.add_raw_input_contents(
      std::string(reinterpret_cast<const char*>(ids.data()), ids.size() * sizeof(int64_t)));
  return request;
}

}  // namespace speech

#endif  // SPEECH_TESTS_HARNESS_REQUESTS_H_
