#include "models/instance_builder.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "models/batch_cost_probe.h"
#include "models/instance_plan.h"
#include "models/warmup.h"

namespace speech {

absl::StatusOr<ModelInstances> BuildInstances(const inference::ModelConfig& config,
                                              const std::string& model_dir,
                                              const std::string& model_path,
                                              InstanceFactory& factory, bool measure_costs) {
  absl::StatusOr<std::vector<InstancePlacement>> placements =
      PlanInstances(config, factory.VisibleGpus());
  if (!placements.ok()) return placements.status();
  ModelInstances instances;
  for (const InstancePlacement& placement : *placements) {
    absl::StatusOr<std::unique_ptr<BatchExecutor>> instance =
        factory.Create(config, placement, model_path);
    if (!instance.ok()) return instance.status();
    absl::Status warm = WarmUp(**instance, config, model_dir);
    if (!warm.ok()) {
      return absl::Status(warm.code(),
                          absl::StrCat("instance '", placement.name, "': ", warm.message()));
    }
    if (measure_costs && instances.executors.empty()) {
      absl::StatusOr<std::vector<CostSample>> costs = ProbeBatchCosts(**instance, config);
      if (!costs.ok()) {
        return absl::Status(costs.status().code(), absl::StrCat("instance '", placement.name,
                                                                "': ", costs.status().message()));
      }
      instances.batch_costs = *std::move(costs);
    }
    instances.executors.push_back(*std::move(instance));
  }
  return instances;
}

}  // namespace speech
