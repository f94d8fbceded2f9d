// A main for the fuzz targets in builds without libFuzzer (gcc, --config=asan): runs
// LLVMFuzzerTestOneInput once on each file named on the command line, and on every file under
// each directory named. So the corpus is a regression test in every configuration, and a crash
// the fuzzer found replays with `infer_request_fuzzer CRASH_FILE`. Exits 1 when a path cannot be
// read or holds no file at all.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool RunFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::cerr << "cannot read " << path << std::endl;
    return false;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(file)),
                                std::istreambuf_iterator<char>());
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int files = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    std::error_code error;
    if (std::filesystem::is_directory(path, error)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(path, error)) {
        if (!entry.is_regular_file()) continue;
        if (!RunFile(entry.path())) return 1;
        ++files;
      }
      if (error) {
        std::cerr << "cannot list " << path << ": " << error.message() << std::endl;
        return 1;
      }
    } else {
      if (!RunFile(path)) return 1;
      ++files;
    }
  }
  if (files == 0) {
    std::cerr << "usage: " << argv[0] << " FILE_OR_DIRECTORY... (found no file)" << std::endl;
    return 1;
  }
  std::cout << "ran " << files << " inputs" << std::endl;
  return 0;
}
