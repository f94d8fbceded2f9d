#include "server/repository/config/batcher_options.h"

#include "absl/time/time.h"

namespace speech {

DynamicBatcher::Options BatcherOptionsFromConfig(const inference::ModelConfig& config) {
  DynamicBatcher::Options options;
  options.model_name = config.name();
  options.max_batch_size = config.max_batch_size();
  options.dynamic_batching = config.has_dynamic_batching();
  // Our extension, as a Triton model parameter: run a lone request on the gRPC handler's thread
  // when an instance is idle (for models that take microseconds).
  auto inline_parameter = config.parameters().find(kInlineWhenIdleParameter);
  options.run_inline_when_idle = inline_parameter != config.parameters().end() &&
                                 inline_parameter->second.string_value() == "true";
  for (const inference::ModelInput& input : config.input()) {
    std::vector<int>& dims = options.padded_dims.emplace_back();
    if (!input.has_ragged_padding()) continue;
    for (int d = 0; d < input.dims_size(); ++d) {
      if (input.dims(d) < 0) dims.push_back(d + 1);  // after the batch dimension
    }
  }
  if (!config.has_dynamic_batching()) return options;
  const inference::ModelDynamicBatching& batching = config.dynamic_batching();
  options.preferred_batch_sizes.assign(batching.preferred_batch_size().begin(),
                                       batching.preferred_batch_size().end());
  options.max_queue_delay = absl::Microseconds(batching.max_queue_delay_microseconds());
  options.preserve_ordering = batching.preserve_ordering();
  const inference::ModelQueuePolicy& policy = batching.default_queue_policy();
  options.max_queue_size = policy.max_queue_size();
  options.default_timeout = absl::Microseconds(policy.default_timeout_microseconds());
  options.allow_timeout_override = policy.allow_timeout_override();
  options.timeout_action = policy.timeout_action() == inference::ModelQueuePolicy::DELAY
                               ? DynamicBatcher::TimeoutAction::kDelay
                               : DynamicBatcher::TimeoutAction::kReject;
  return options;
}

}  // namespace speech
