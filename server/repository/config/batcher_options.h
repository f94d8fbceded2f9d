// How a model's configuration reaches its dynamic batcher: Triton's max_batch_size and
// dynamic_batching fields, plus our model parameter for inline execution.
#ifndef SPEECH_SERVER_REPOSITORY_CONFIG_BATCHER_OPTIONS_H_
#define SPEECH_SERVER_REPOSITORY_CONFIG_BATCHER_OPTIONS_H_

#include "batcher/dynamic_batcher.h"
#include "proto/model_config.pb.h"
#include "server/repository/config/model_config.h"

namespace speech {

// The batcher options a validated configuration asks for: every dynamic_batching field
// (preferred sizes, queue delay, preserve_ordering, default_queue_policy) maps to its option, and
// the variable dimensions of inputs with ragged_padding to padded_dims; without dynamic_batching
// each request runs alone. Cost samples are not configuration: the model's warm-up measures them.
DynamicBatcher::Options BatcherOptionsFromConfig(const inference::ModelConfig& config);

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_CONFIG_BATCHER_OPTIONS_H_
