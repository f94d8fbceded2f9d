#include "server/repository/model_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace speech {
namespace {

namespace fs = std::filesystem;

// One line per regular file under `dir`, in path order: "relative/path size mtime".
std::string ListFiles(const fs::path& dir) {
  std::vector<std::string> lines;
  std::error_code error;
  for (fs::recursive_directory_iterator it(dir, error), end; !error && it != end;
       it.increment(error)) {
    std::error_code stat_error;
    if (!it->is_regular_file(stat_error)) continue;
    const uintmax_t size = it->file_size(stat_error);
    if (stat_error) continue;
    const fs::file_time_type time = it->last_write_time(stat_error);
    if (stat_error) continue;
    lines.push_back(absl::StrCat(fs::relative(it->path(), dir, stat_error).string(), " ", size, " ",
                                 time.time_since_epoch().count(), "\n"));
  }
  std::sort(lines.begin(), lines.end());
  std::string listing;
  for (const std::string& line : lines) listing += line;
  return listing;
}

}  // namespace

std::vector<std::string> ListModelDirectories(const std::string& repository) {
  std::vector<std::string> names;
  std::error_code error;
  for (fs::directory_iterator it(repository, error), end; !error && it != end;
       it.increment(error)) {
    std::error_code stat_error;
    const std::string name = it->path().filename().string();
    // Hidden directories (.git, a checkout's metadata) are not models.
    if (it->is_directory(stat_error) && !name.empty() && name[0] != '.') names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

ModelFiles ReadModelFiles(const std::string& repository, const std::string& name) {
  const fs::path dir = fs::path(repository) / name;
  ModelFiles files;
  std::ifstream config(dir / "config.pbtxt", std::ios::binary);
  if (config) {
    std::ostringstream text;
    text << config.rdbuf();
    files.config_text = text.str();
  }
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    int64_t version;
    const std::string entry = it->path().filename().string();
    std::error_code stat_error;
    if (it->is_directory(stat_error) && absl::SimpleAtoi(entry, &version) && version >= 0 &&
        absl::StrCat(version) == entry) {
      files.versions[version] = ListFiles(it->path());
    }
  }
  return files;
}

RepositoryChanges PlanRepositoryChanges(const std::map<std::string, ModelFiles>& loaded,
                                        const std::map<std::string, ModelFiles>& found) {
  RepositoryChanges changes;
  for (const auto& [name, files] : found) {
    auto it = loaded.find(name);
    if (it == loaded.end()) {
      changes.load.push_back(name);
    } else if (it->second != files) {
      changes.reload.push_back(name);
    }
  }
  for (const auto& [name, files] : loaded) {
    if (found.count(name) == 0) changes.unload.push_back(name);
  }
  return changes;
}

}  // namespace speech
