// Where the accuracy checker finds the model it runs as its reference: the TorchScript file and
// configuration of <repository>/<model>/<version>/model.pt and <repository>/<model>/config.pbtxt,
// as Triton lays a model repository out. Reads files; otherwise pure.
#ifndef SPEECH_CLIENT_ACCURACY_REFERENCE_MODEL_FILES_H_
#define SPEECH_CLIENT_ACCURACY_REFERENCE_MODEL_FILES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/model_config.pb.h"

namespace speech {

// A model version's files. A plain value type.
struct ModelFiles {
  std::string version;      // "1"
  std::string model_path;   // <repository>/<model>/<version>/model.pt
  std::string config_path;  // <repository>/<model>/config.pbtxt
  inference::ModelConfig config;
};

// A config.pbtxt's text as a ModelConfig (protobuf TextFormat; unknown fields are errors).
// INVALID_ARGUMENT starting with `name` and quoting the parser's complaints otherwise.
absl::StatusOr<inference::ModelConfig> ParseModelConfigText(absl::string_view text,
                                                            absl::string_view name);

// The files of `model` in `repository`; `version` empty means the newest version, the largest
// numeric subdirectory (other subdirectories are ignored, as Triton ignores them). NOT_FOUND
// naming the path for a missing repository, model, version, config.pbtxt or model.pt (a model
// without numeric subdirectories has no version); the parse error of a bad config.pbtxt; and
// INVALID_ARGUMENT for a `version` that is not a whole number.
absl::StatusOr<ModelFiles> FindModelFiles(const std::string& repository, const std::string& model,
                                          const std::string& version);

}  // namespace speech

#endif  // SPEECH_CLIENT_ACCURACY_REFERENCE_MODEL_FILES_H_
