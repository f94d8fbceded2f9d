// Checks an ensemble's wiring (Triton's ensemble_scheduling) against the models it runs: every
// step's model exists, every input it needs is an ensemble input or another step's output, each
// ensemble tensor is produced once, data types and dims agree between producer and consumer,
// batching agrees, and every ensemble output is produced.
#ifndef SPEECH_SERVER_REPOSITORY_CONFIG_ENSEMBLE_VALIDATION_H_
#define SPEECH_SERVER_REPOSITORY_CONFIG_ENSEMBLE_VALIDATION_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "proto/model_config.pb.h"

namespace speech {

// The validated configuration of model `name` at `version` ("" for the newest), or the reason it
// cannot serve (NOT_FOUND naming it).
using StepConfigLookup = std::function<absl::StatusOr<const inference::ModelConfig*>(
    const std::string& name, const std::string& version)>;

// The version a step names, as the repository spells it: "" for the newest (-1 or 0).
std::string StepVersion(const inference::ModelEnsembling::Step& step);

// OK when `ensemble` (validated on its own, platform "ensemble") can run with the models `lookup`
// finds. Otherwise INVALID_ARGUMENT (or the lookup's NOT_FOUND) naming the step, by position and
// model, and the tensor, with what was expected and what was found. Steps may be listed in any
// order; a tensor that nothing produces, or a cycle, is an error.
absl::Status ValidateEnsemble(const inference::ModelConfig& ensemble,
                              const StepConfigLookup& lookup);

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_CONFIG_ENSEMBLE_VALIDATION_H_
