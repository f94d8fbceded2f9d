// A stand-in for a model backend in repository and service tests: its instances need no model
// file beyond its existence, answer every configured output (a copy of the input at the same
// position when type and per-row size agree, zeros otherwise) and record what they ran.
#ifndef SPEECH_TESTS_FAKES_FAKE_INSTANCE_FACTORY_H_
#define SPEECH_TESTS_FAKES_FAKE_INSTANCE_FACTORY_H_

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "batcher/executor.h"
#include "models/instance_factory.h"
#include "proto/tensor_types.h"

namespace speech {

// Thread-safe. Must outlive the instances it made.
class FakeInstanceFactory final : public InstanceFactory {
 public:
  int VisibleGpus() const override { return visible_gpus_; }
  void set_visible_gpus(int count) { visible_gpus_ = count; }

  // Makes every Create for a model file whose path contains `fragment` fail with `status`.
  void FailLoadsOf(const std::string& fragment, absl::Status status) {
    absl::MutexLock lock(&mu_);
    load_failures_[fragment] = std::move(status);
  }

  // From now on every execution by an instance of model `model` fails with `status` (warm-up
  // included), until this is called again with an OK status.
  void FailExecutionsOf(const std::string& model, absl::Status status) {
    absl::MutexLock lock(&mu_);
    execution_failures_[model] = std::move(status);
  }

  // From now on executions of model `model` wait, once recorded, until Release lets them go.
  void Hold(const std::string& model) {
    absl::MutexLock lock(&mu_);
    held_[model] = true;
  }
  // Lets every held execution of `model`, and every later one, run.
  void Release(const std::string& model) {
    absl::MutexLock lock(&mu_);
    held_[model] = false;
  }
  // Blocks until instances of `model` have begun `count` executions (held ones included).
  void WaitForExecutions(const std::string& model, size_t count) const {
    absl::MutexLock lock(&mu_);
    auto started = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      auto it = batches_.find(model);
      return it != batches_.end() && it->second.size() >= count;
    };
    mu_.Await(absl::Condition(&started));
  }

  // Placements created so far, as "<model file>@<device>", in creation order.
  std::vector<std::string> created() const {
    absl::MutexLock lock(&mu_);
    return created_;
  }

  // Batches executed (or begun, when held) by instances of `model`: each batch's total rows.
  std::vector<int64_t> batch_rows(const std::string& model) const {
    absl::MutexLock lock(&mu_);
    auto it = batches_.find(model);
    return it == batches_.end() ? std::vector<int64_t>() : it->second;
  }

  absl::StatusOr<std::unique_ptr<BatchExecutor>> Create(const inference::ModelConfig& config,
                                                        const InstancePlacement& placement,
                                                        const std::string& model_path) override {
    absl::MutexLock lock(&mu_);
    for (const auto& [fragment, status] : load_failures_) {
      if (model_path.find(fragment) != std::string::npos) return status;
    }
    if (!std::filesystem::is_regular_file(model_path)) {
      return absl::NotFoundError(absl::StrCat("model file '", model_path, "' does not exist"));
    }
    created_.push_back(absl::StrCat(model_path, "@", placement.device));
    return std::unique_ptr<BatchExecutor>(new Instance(this, config));
  }

 private:
  class Instance final : public BatchExecutor {
   public:
    Instance(FakeInstanceFactory* factory, inference::ModelConfig config)
        : factory_(factory), config_(std::move(config)) {}

    absl::Status Execute(absl::Span<InferenceRequest* const> batch) override {
      int64_t total_rows = 0;
      for (const InferenceRequest* request : batch) total_rows += request->batch_rows;
      if (absl::Status status = factory_->RecordExecution(config_.name(), total_rows);
          !status.ok()) {
        return status;
      }
      const bool batching = config_.max_batch_size() > 0;
      for (InferenceRequest* request : batch) {
        request->outputs.clear();
        for (int j = 0; j < config_.output_size(); ++j) {
          request->outputs.push_back(MakeOutput(*request, j, batching));
        }
        request->executed_batch_rows = total_rows;
        PhaseTimes& times = request->times;
        times.compute_input_start = times.compute_input_end = times.dispatch;
        times.compute_infer_start = times.compute_infer_end = times.dispatch;
        times.compute_output_start = times.compute_output_end = times.dispatch;
      }
      return absl::OkStatus();
    }

   private:
    OutputTensor MakeOutput(const InferenceRequest& request, int j, bool batching) const {
      const inference::ModelOutput& spec = config_.output(j);
      OutputTensor output;
      output.name = spec.name();
      output.type = spec.data_type();
      if (j < static_cast<int>(request.inputs.size())) {
        const InputTensor& input = request.inputs[j];
        const size_t offset = batching ? 1 : 0;
        const bool same = input.type == spec.data_type() &&
                          input.shape.size() == static_cast<size_t>(spec.dims_size()) + offset;
        if (same) {
          output.shape = input.shape;
          output.data.assign(input.data, input.byte_size);
          return output;
        }
      }
      if (batching) output.shape.push_back(request.batch_rows);
      for (int64_t dim : spec.dims()) output.shape.push_back(dim < 0 ? 1 : dim);
      output.data.assign(ElementCount(output.shape) * DataTypeByteSize(spec.data_type()), '\0');
      return output;
    }

    FakeInstanceFactory* const factory_;
    const inference::ModelConfig config_;
  };

  absl::Status RecordExecution(const std::string& model, int64_t rows) {
    absl::MutexLock lock(&mu_);
    if (auto it = execution_failures_.find(model); it != execution_failures_.end()) {
      if (!it->second.ok()) return it->second;
    }
    batches_[model].push_back(rows);
    auto released = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      auto it = held_.find(model);
      return it == held_.end() || !it->second;
    };
    mu_.Await(absl::Condition(&released));
    return absl::OkStatus();
  }

  std::atomic<int> visible_gpus_{0};
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, absl::Status> load_failures_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, absl::Status> execution_failures_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<int64_t>> batches_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, bool> held_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> created_ ABSL_GUARDED_BY(mu_);
};

}  // namespace speech

#endif  // SPEECH_TESTS_FAKES_FAKE_INSTANCE_FACTORY_H_
