// What the model directories of a repository hold, as much as deciding whether to reload them
// needs: each model's configuration text and a listing of each version directory (file names,
// sizes, modification times). Comparing two readings tells which models appeared, changed or
// went away; the plan of what to load and unload is a pure function of two readings.
#ifndef SPEECH_SERVER_REPOSITORY_MODEL_FILES_H_
#define SPEECH_SERVER_REPOSITORY_MODEL_FILES_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace speech {

// One model directory at one moment.
struct ModelFiles {
  // config.pbtxt as read (empty when missing or unreadable), or the override a load was given.
  std::string config_text;
  // Each numeric version directory: one line per file below it ("path size mtime_ns").
  std::map<int64_t, std::string> versions;

  bool operator==(const ModelFiles& other) const {
    return config_text == other.config_text && versions == other.versions;
  }
  bool operator!=(const ModelFiles& other) const { return !(*this == other); }
};

// The model directories under `repository` (hidden ones skipped), by name, in name order; empty
// when `repository` cannot be read.
std::vector<std::string> ListModelDirectories(const std::string& repository);

// Reads `<repository>/<name>`. Files that vanish while it is read are left out.
ModelFiles ReadModelFiles(const std::string& repository, const std::string& name);

// What a poll of the repository must do to make the served models match the directories.
struct RepositoryChanges {
  std::vector<std::string> load;    // directories that appeared (or never loaded)
  std::vector<std::string> reload;  // directories whose files differ from what was loaded
  std::vector<std::string> unload;  // models whose directory went away
};

// Compares what each model was last loaded (or tried) from, `loaded`, with what the directories
// hold now, `found`. A model whose files are unchanged is left alone, even if its last load
// failed: the same files would fail the same way. Each list is in name order.
RepositoryChanges PlanRepositoryChanges(const std::map<std::string, ModelFiles>& loaded,
                                        const std::map<std::string, ModelFiles>& found);

}  // namespace speech

#endif  // SPEECH_SERVER_REPOSITORY_MODEL_FILES_H_
