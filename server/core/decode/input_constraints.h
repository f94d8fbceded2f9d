// The checks a model's configuration declares on its inputs (our `constraints` extension, and
// the non-empty rule of padded inputs), applied to a decoded request before it is queued, so
// that input the model cannot take fails with INVALID_ARGUMENT instead of inside the model.
#ifndef SPEECH_SERVER_CORE_DECODE_INPUT_CONSTRAINTS_H_
#define SPEECH_SERVER_CORE_DECODE_INPUT_CONSTRAINTS_H_

#include "absl/status/status.h"
#include "batcher/request.h"
#include "proto/model_config.pb.h"

namespace speech {

// OK when every input of `request` satisfies its configured constraints: every variable
// dimension within [min_length, max_length] (and not empty when the input is padded), every
// element within [min_value, max_value] and finite where asked, every row of a not_all_pad
// input holding an element other than the pad value, and every lengths_of value in [1, the size
// of the input it describes]. Otherwise INVALID_ARGUMENT naming the input, the
// rule, and the value (with its position). REQUIRES: `request` was decoded against `config`
// (DecodeInferRequest), so its inputs follow the configuration's order and shapes.
absl::Status CheckInputConstraints(const inference::ModelConfig& config,
                                   const InferenceRequest& request);

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_DECODE_INPUT_CONSTRAINTS_H_
