// Checks the configuration of variable-length batching: the speech server's extensions
// (ragged_padding and constraints on inputs, BATCH_SCATTER_WITH_OUTPUT_LENGTHS outputs) and
// Triton's batch_input / batch_output as this server supports them.
#ifndef SPEECH_SERVER_REPOSITORY_CONFIG_RAGGED_VALIDATION_H_
#define SPEECH_SERVER_REPOSITORY_CONFIG_RAGGED_VALIDATION_H_

#include "absl/status/status.h"
#include "proto/model_config.pb.h"

namespace speech {

// OK when every input's constraints and ragged_padding, every batch_input and every batch_output
// make sense together; otherwise INVALID_ARGUMENT naming the field, the expected and the received
// value. Among the rules: padding needs a batching model and a variable dimension; a pad value
// must fit the input's data type; batch inputs are BATCH_ELEMENT_COUNT or BATCH_ITEM_SHAPE of one
// configured input, INT32 or INT64, named apart from the inputs; and once any input is padded,
// every output with a variable dimension has a batch_output that says how to cut it back.
// REQUIRES: the inputs and outputs themselves are valid (names, data types, dims).
absl::Status ValidateRaggedBatching(const inference::ModelConfig& config);

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_CONFIG_RAGGED_VALIDATION_H_
