// Warm-up of one model instance before its model reports ready: the configuration's
// model_warmup samples (Triton's field), or a default batch, each checked against the
// configuration's outputs.
#ifndef SPEECH_MODELS_WARMUP_H_
#define SPEECH_MODELS_WARMUP_H_

#include <string>

#include "absl/status/status.h"
#include "batcher/executor.h"
#include "proto/model_config.pb.h"

namespace speech {

// Runs the configuration's model_warmup samples on `instance` (or, when none is given, one batch
// of the largest size with every variable dimension set to 128, or within the input's
// constraints.min_length and max_length, and every element 1), then checks
// each output's data type and dims against the configuration. `model_dir` resolves warm-up
// input_data_file names (<model_dir>/warmup/<file>, as in Triton). Errors name the sample and the
// input or output at fault.
absl::Status WarmUp(BatchExecutor& instance, const inference::ModelConfig& config,
                    const std::string& model_dir);

}  // namespace speech

#endif  // SPEECH_MODELS_WARMUP_H_
