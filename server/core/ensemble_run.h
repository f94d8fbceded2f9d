// Runs requests of ensembles (Triton's platform "ensemble"): each step's request goes to its own
// model's batcher as soon as the tensors it reads are ready, so that step requests batch with the
// model's other requests and independent steps overlap; the ensemble's outputs are gathered once
// every step has run.
#ifndef SPEECH_SERVER_CORE_ENSEMBLE_RUN_H_
#define SPEECH_SERVER_CORE_ENSEMBLE_RUN_H_

#include <memory>

#include "batcher/clock.h"
#include "batcher/request.h"
#include "server/repository/model_repository.h"

namespace speech {

// Runs `request` (decoded and checked against the configuration of `ensemble`) through the
// ensemble's steps and completes it once (request->on_complete, on whatever thread finished the
// last step): with the ensemble's outputs in the configuration's order, or with the first failure
// of a step, its code kept and its message prefixed with the step and its model. Step models are
// found in `repository` when each step starts (so a model reloaded meanwhile serves), and each
// step's outcome is recorded in its model's statistics. The request's deadline and cancellation
// apply to every step. Holds `ensemble` and each step's model version until the request is done;
// borrows `repository` and `clock`, which must outlive the request. REQUIRES: ensemble->config
// is an ensemble whose wiring was validated.
void RunEnsemble(std::shared_ptr<const ServedModel> ensemble,
                 std::unique_ptr<InferenceRequest> request, ModelRepository* repository,
                 Clock* clock);

}  // namespace speech

#endif  // SPEECH_SERVER_CORE_ENSEMBLE_RUN_H_
