#include "models/instance_plan.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace speech {

absl::StatusOr<std::vector<InstancePlacement>> PlanInstances(const inference::ModelConfig& config,
                                                             int visible_gpus) {
  std::vector<InstancePlacement> placements;
  std::vector<inference::ModelInstanceGroup> groups(config.instance_group().begin(),
                                                    config.instance_group().end());
  if (groups.empty()) groups.emplace_back().set_count(1);
  for (size_t g = 0; g < groups.size(); ++g) {
    const inference::ModelInstanceGroup& group = groups[g];
    const std::string group_name =
        group.name().empty() ? absl::StrCat(config.name(), "_", g) : group.name();
    if (group.count() < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "instance_group '", group_name, "': count must be at least 1; was ", group.count()));
    }
    inference::ModelInstanceGroup::Kind kind = group.kind();
    if (kind == inference::ModelInstanceGroup::KIND_AUTO) {
      kind = visible_gpus > 0 ? inference::ModelInstanceGroup::KIND_GPU
                              : inference::ModelInstanceGroup::KIND_CPU;
    }
    if (kind == inference::ModelInstanceGroup::KIND_CPU) {
      for (int n = 0; n < group.count(); ++n) {
        placements.push_back({absl::StrCat(group_name, "_", n), "cpu"});
      }
      continue;
    }
    if (kind != inference::ModelInstanceGroup::KIND_GPU) {
      return absl::InvalidArgumentError(
          absl::StrCat("instance_group '", group_name, "': kind ",
                       inference::ModelInstanceGroup::Kind_Name(kind),
                       " is not supported; use KIND_CPU, KIND_GPU or KIND_AUTO"));
    }
    std::vector<int> gpus(group.gpus().begin(), group.gpus().end());
    if (gpus.empty()) {
      if (visible_gpus == 0) {
        return absl::FailedPreconditionError(absl::StrCat(
            "instance_group '", group_name, "' asks for KIND_GPU but no GPU is visible"));
      }
      for (int id = 0; id < visible_gpus; ++id) gpus.push_back(id);
    }
    for (int id : gpus) {
      if (id < 0 || id >= visible_gpus) {
        return absl::FailedPreconditionError(absl::StrCat("instance_group '", group_name,
                                                          "' lists GPU ", id, " but ", visible_gpus,
                                                          " GPUs are visible"));
      }
      for (int n = 0; n < group.count(); ++n) {
        placements.push_back(
            {absl::StrCat(group_name, "_", n, "_gpu", id), absl::StrCat("cuda:", id)});
      }
    }
  }
  for (InstancePlacement& placement : placements) {
    placement.model_instances = static_cast<int>(placements.size());
  }
  return placements;
}

}  // namespace speech
