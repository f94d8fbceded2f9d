#include "client/accuracy/reference/model_files.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

// Collects TextFormat's complaints instead of letting protobuf log them.
class ErrorCollector final : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    absl::StrAppend(&errors_, errors_.empty() ? "" : "; ", "line ", line + 1, " column ",
                    column + 1, ": ", message);
  }
  const std::string& errors() const { return errors_; }

 private:
  std::string errors_;
};

// The whole number a version directory is named after, or nullopt ("1a", "-1", "").
std::optional<int64_t> VersionNumber(const std::string& name) {
  int64_t number = 0;
  if (name.empty() || name[0] < '0' || name[0] > '9' || !absl::SimpleAtoi(name, &number)) {
    return std::nullopt;
  }
  return number;
}

absl::StatusOr<std::string> NewestVersion(const fs::path& model_dir) {
  std::error_code error;
  std::optional<int64_t> newest;
  std::string name;
  for (const fs::directory_entry& entry : fs::directory_iterator(model_dir, error)) {
    if (!entry.is_directory(error)) continue;
    const std::string candidate = entry.path().filename().string();
    const std::optional<int64_t> number = VersionNumber(candidate);
    if (number.has_value() && (!newest.has_value() || *number > *newest)) {
      newest = number;
      name = candidate;
    }
  }
  if (error) {
    return absl::NotFoundError(
        absl::StrCat("cannot list ", model_dir.string(), ": ", error.message()));
  }
  if (!newest.has_value()) {
    return absl::NotFoundError(
        absl::StrCat(model_dir.string(), " has no numeric version directory"));
  }
  return name;
}

}  // namespace

absl::StatusOr<inference::ModelConfig> ParseModelConfigText(absl::string_view text,
                                                            absl::string_view name) {
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  inference::ModelConfig config;
  if (!parser.ParseFromString(std::string(text), &config)) {
    return absl::InvalidArgumentError(absl::StrCat(name, ": ", errors.errors()));
  }
  return config;
}

absl::StatusOr<ModelFiles> FindModelFiles(const std::string& repository, const std::string& model,
                                          const std::string& version) {
  std::error_code error;
  if (!fs::is_directory(repository, error)) {
    return absl::NotFoundError(
        absl::StrCat("model repository ", repository, " is not a directory"));
  }
  const fs::path model_dir = fs::path(repository) / model;
  if (model.empty() || !fs::is_directory(model_dir, error)) {
    return absl::NotFoundError(absl::StrCat("model '", model, "' is not in ", repository, " (no ",
                                            model_dir.string(), ")"));
  }
  ModelFiles files;
  if (version.empty()) {
    absl::StatusOr<std::string> newest = NewestVersion(model_dir);
    if (!newest.ok()) return newest.status();
    files.version = *newest;
  } else if (!VersionNumber(version).has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("model version must be a whole number; was \"", version, "\""));
  } else {
    files.version = version;
  }
  files.model_path = (model_dir / files.version / "model.pt").string();
  files.config_path = (model_dir / "config.pbtxt").string();
  for (const std::string* path : {&files.config_path, &files.model_path}) {
    if (!fs::is_regular_file(*path, error)) {
      return absl::NotFoundError(absl::StrCat(*path, " does not exist"));
    }
  }
  std::ifstream in(files.config_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", files.config_path));
  absl::StatusOr<inference::ModelConfig> config =
      ParseModelConfigText(text.str(), files.config_path);
  if (!config.ok()) return config.status();
  files.config = *std::move(config);
  return files;
}

}  // namespace speech
