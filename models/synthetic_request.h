// Requests made up by the server itself, to measure and warm up a model before it serves: every
// input filled with values its configuration accepts, at a chosen number of rows and length.
#ifndef SPEECH_MODELS_SYNTHETIC_REQUEST_H_
#define SPEECH_MODELS_SYNTHETIC_REQUEST_H_

#include <cstdint>
#include <memory>

#include "batcher/request.h"
#include "proto/model_config.pb.h"

namespace speech {

// A request of `rows` rows (when the model batches) whose inputs have every variable dimension
// `length` long (fixed dimensions as configured) and that owns its bytes. Elements are 1, moved
// into [min_value, max_value] where constraints say so; floating-point elements are uniform in
// [-0.5, 0.5] (seeded, so the same arguments give the same request); an input holding the lengths
// of another (constraints.lengths_of) holds `length`. REQUIRES: rows >= 1 and length >= 1.
std::unique_ptr<InferenceRequest> SyntheticRequest(const inference::ModelConfig& config,
                                                   int64_t rows, int64_t length,
                                                   uint32_t seed = 42);

}  // namespace speech

#endif  // SPEECH_MODELS_SYNTHETIC_REQUEST_H_
