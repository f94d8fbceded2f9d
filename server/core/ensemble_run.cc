#include "server/core/ensemble_run.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "server/core/decode/input_constraints.h"
#include "server/metrics/model/model_stats.h"
#include "server/repository/config/ensemble_validation.h"

namespace speech {
namespace {

using Step = inference::ModelEnsembling::Step;

// An ensemble tensor: borrowed from the ensemble's request (its inputs), or owned (a step's
// output, shared by the steps that read it).
struct PoolTensor {
  DataType type = inference::TYPE_INVALID;
  std::vector<int64_t> shape;
  const char* data = nullptr;
  size_t byte_size = 0;
  std::shared_ptr<const std::string> owned;
};

// One ensemble request in flight. Thread-safe: step completions arrive on instance threads.
// Kept alive by the steps in flight (each holds a shared_ptr), so that the request, whose inputs
// the steps borrow, is completed only once the last step is done.
class EnsembleRun : public std::enable_shared_from_this<EnsembleRun> {
 public:
  EnsembleRun(std::shared_ptr<const ServedModel> ensemble,
              std::unique_ptr<InferenceRequest> request, ModelRepository* repository, Clock* clock)
      : ensemble_(std::move(ensemble)),
        steps_(ensemble_->config.ensemble_scheduling().step()),
        repository_(repository),
        clock_(clock),
        request_(std::move(request)),
        started_(steps_.size(), false) {}

  void Start() {
    std::vector<int> ready;
    {
      absl::MutexLock lock(&mu_);
      for (int i = 0; i < ensemble_->config.input_size(); ++i) {
        const InputTensor& input = request_->inputs[i];
        pool_[input.name] = {input.type, input.shape, input.data, input.byte_size, nullptr};
      }
      ready = TakeReadySteps();
    }
    request_->times.dispatch = clock_->Now();
    LaunchOrFinish(std::move(ready));
  }

 private:
  std::string StepName(int i) const {
    return absl::StrCat("model '", ensemble_->name, "': step ", i, " (model '",
                        steps_[i].model_name(), "')");
  }

  // Marks as started, and returns, the steps not started whose tensors are all in the pool.
  std::vector<int> TakeReadySteps() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<int> ready;
    if (!failure_.ok()) return ready;
    for (int i = 0; i < steps_.size(); ++i) {
      if (started_[i]) continue;
      bool inputs_ready = true;
      for (const auto& [key, tensor] : steps_[i].input_map())
        inputs_ready &= pool_.count(tensor) > 0;
      if (!inputs_ready) continue;
      started_[i] = true;
      ++in_flight_;
      ready.push_back(i);
    }
    return ready;
  }

  void LaunchOrFinish(std::vector<int> ready) {
    for (int i : ready) Launch(i);
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      finish = ready.empty() && in_flight_ == 0 && !finished_;
      finished_ |= finish;
    }
    if (finish) Finish();
  }

  // The request of step `i`: its model's inputs, in its configuration's order, from the pool.
  std::unique_ptr<InferenceRequest> StepRequest(int i, const inference::ModelConfig& config) {
    auto step = std::make_unique<InferenceRequest>();
    step->id = request_->id;
    step->batch_rows = request_->batch_rows;
    step->deadline = request_->deadline;
    step->is_cancelled = request_->is_cancelled;
    absl::MutexLock lock(&mu_);
    for (const inference::ModelInput& spec : config.input()) {
      const PoolTensor& tensor = pool_.at(steps_[i].input_map().at(spec.name()));
      step->inputs.push_back(
          {spec.name(), tensor.type, tensor.shape, tensor.data, tensor.byte_size});
    }
    return step;
  }

  void Launch(int i) {
    absl::StatusOr<std::shared_ptr<const ServedModel>> model =
        repository_->Find(steps_[i].model_name(), StepVersion(steps_[i]));
    if (!model.ok() || (*model)->batcher == nullptr) {
      const absl::Status missing =
          model.ok() ? absl::InternalError("it has no batcher") : model.status();
      return OnStepDone(i, nullptr, absl::InfinitePast(), nullptr, missing);
    }
    std::shared_ptr<const ServedModel> served = *std::move(model);
    std::unique_ptr<InferenceRequest> step = StepRequest(i, served->config);
    if (absl::Status fits = CheckInputConstraints(served->config, *step); !fits.ok()) {
      return OnStepDone(
          i, nullptr, absl::InfinitePast(), nullptr,
          absl::Status(fits.code(),
                       absl::StrCat(i == 0 ? "cannot take the request's inputs: "
                                           : "cannot take what the steps before it produced: ",
                                    fits.message())));
    }
    const absl::Time start = clock_->Now();
    step->on_complete = [run = shared_from_this(), i, served, start](
                            std::unique_ptr<InferenceRequest> finished, absl::Status status) {
      run->OnStepDone(i, served.get(), start, std::move(finished), std::move(status));
    };
    served->batcher->Enqueue(std::move(step));
  }

  void OnStepDone(int i, const ServedModel* served, absl::Time start,
                  std::unique_ptr<InferenceRequest> step, absl::Status status) {
    if (served != nullptr && served->stats != nullptr && step != nullptr) {
      served->stats->RecordCompletion(*step, status, start, clock_->Now());
    }
    std::vector<int> ready;
    {
      absl::MutexLock lock(&mu_);
      --in_flight_;
      if (!status.ok()) {
        if (failure_.ok()) {
          failure_ = absl::Status(status.code(), absl::StrCat(StepName(i), ": ", status.message()));
        }
      } else {
        for (OutputTensor& output : step->outputs) {
          auto mapped = steps_[i].output_map().find(output.name);
          if (mapped == steps_[i].output_map().end()) continue;  // nobody reads it
          auto bytes = std::make_shared<const std::string>(std::move(output.data));
          pool_[mapped->second] = {output.type, output.shape, bytes->data(), bytes->size(), bytes};
        }
        ++finished_steps_;
      }
      ready = TakeReadySteps();
    }
    LaunchOrFinish(std::move(ready));
  }

  void Finish() {
    absl::Status status;
    {
      absl::MutexLock lock(&mu_);
      status = failure_;
      if (status.ok() && finished_steps_ != steps_.size()) {
        status = absl::InternalError(absl::StrCat("model '", ensemble_->name,
                                                  "': ", steps_.size() - finished_steps_,
                                                  " steps never got their inputs"));
      }
      request_->outputs.clear();
      for (int j = 0; status.ok() && j < ensemble_->config.output_size(); ++j) {
        const inference::ModelOutput& spec = ensemble_->config.output(j);
        auto it = pool_.find(spec.name());
        if (it == pool_.end()) {
          status = absl::InternalError(absl::StrCat("model '", ensemble_->name, "': output '",
                                                    spec.name(), "' was never produced"));
          break;
        }
        request_->outputs.push_back({spec.name(), it->second.type, it->second.shape,
                                     std::string(it->second.data, it->second.byte_size)});
      }
      if (!status.ok()) request_->outputs.clear();
      pool_.clear();
    }
    CompleteRequest(std::move(request_), std::move(status));
  }

  const std::shared_ptr<const ServedModel> ensemble_;
  const google::protobuf::RepeatedPtrField<Step>& steps_;
  ModelRepository* const repository_;
  Clock* const clock_;
  std::unique_ptr<InferenceRequest> request_;

  absl::Mutex mu_;
  std::map<std::string, PoolTensor> pool_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> started_ ABSL_GUARDED_BY(mu_);
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  int finished_steps_ ABSL_GUARDED_BY(mu_) = 0;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void RunEnsemble(std::shared_ptr<const ServedModel> ensemble,
                 std::unique_ptr<InferenceRequest> request, ModelRepository* repository,
                 Clock* clock) {
  request->times.arrival = clock->Now();
  std::make_shared<EnsembleRun>(std::move(ensemble), std::move(request), repository, clock)
      ->Start();
}

}  // namespace speech
