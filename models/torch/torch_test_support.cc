// SaveModule, apart from the header so that only this file compiles against LibTorch's headers.
#include "models/torch/torch_test_support.h"

#include <torch/script.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace speech {

std::string SaveModule(const std::string& file, const std::string& source) {
  torch::jit::Module module("m");
  module.define(source);
  const std::string path = absl::StrCat(testing::TempDir(), "/", file);
  module.save(path);
  return path;
}

}  // namespace speech
