#include "tests/e2e/reliability/resident_memory.h"

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace speech {

absl::StatusOr<int64_t> ResidentBytes(pid_t pid) {
  const std::string path = absl::StrCat("/proc/", pid, "/status");
  std::ifstream status(path);
  std::string line;
  while (std::getline(status, line)) {
    // "VmRSS:	  123456 kB"
    const std::vector<std::string> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.empty() || fields[0] != "VmRSS:") continue;
    int64_t kib = 0;
    if (fields.size() != 3 || fields[2] != "kB" || !absl::SimpleAtoi(fields[1], &kib)) {
      return absl::InternalError(absl::StrCat("unexpected line in ", path, ": ", line));
    }
    return kib * 1024;
  }
  return absl::NotFoundError(absl::StrCat("no VmRSS in ", path));
}

}  // namespace speech
