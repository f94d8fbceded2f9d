// Reading and checking a model's config.pbtxt (Triton's text format and field names).
#ifndef SPEECH_SERVER_REPOSITORY_CONFIG_MODEL_CONFIG_H_
#define SPEECH_SERVER_REPOSITORY_CONFIG_MODEL_CONFIG_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/model_config.pb.h"

namespace speech {

// The only platform we run, and the backend name Triton gives it.
inline constexpr char kTorchPlatform[] = "pytorch_libtorch";
inline constexpr char kTorchBackend[] = "pytorch";
// Triton's platform of a pipeline of other models (ensemble_scheduling).
inline constexpr char kEnsemblePlatform[] = "ensemble";

// True for a pipeline of other models (platform "ensemble").
bool IsEnsemble(const inference::ModelConfig& config);
inline constexpr char kDefaultModelFilename[] = "model.pt";

// Our model parameter (Triton `parameters` syntax), "true" or "false", default false: a lone
// request may run on the thread that received it when an instance is idle.
inline constexpr char kInlineWhenIdleParameter[] = "execute_inline_when_idle";

// Our model parameter, "true" (default) or "false", for models with padded inputs: "false" forms
// batches by Triton's rules (arrival order, filled up to the preferred or maximum size) instead
// of by the measured cost of batches (which are then not measured at load). For comparisons;
// the default serves better.
inline constexpr char kBatchCostModelParameter[] = "batch_cost_model";

// Parses `<model_dir>/config.pbtxt`. Unknown fields and type errors fail with the file, line,
// column and the parser's explanation. A missing file is NOT_FOUND.
absl::StatusOr<inference::ModelConfig> ReadModelConfig(const std::string& model_dir);

// Checks what this server supports and fills defaults (name from the directory, platform and
// backend, default_model_filename, version_policy latest 1). Every error names the field and the
// expected and received values; callers prefix the file.
absl::Status ValidateModelConfig(const std::string& directory_name, inference::ModelConfig* config);

// The versions (numeric subdirectories of `model_dir`) the configuration's version_policy
// serves, in increasing order. Fails when none exists or a specific version is missing.
absl::StatusOr<std::vector<int64_t>> SelectVersions(const std::string& model_dir,
                                                    const inference::ModelConfig& config);

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_CONFIG_MODEL_CONFIG_H_
