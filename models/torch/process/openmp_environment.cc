#include "models/torch/process/openmp_environment.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <utility>

namespace speech {

void RestartWithServerThreadingEnvironment(char** argv) {
  bool changed = false;
  for (const auto& [name, value] :
       {std::pair<const char*, const char*>{"OMP_WAIT_POLICY", "PASSIVE"},
        {"OPENBLAS_NUM_THREADS", "1"}}) {
    if (std::getenv(name) != nullptr) continue;
    if (setenv(name, value, /*overwrite=*/1) != 0) return;
    changed = true;
  }
  if (!changed) return;
  execv("/proc/self/exe", argv);
  std::cerr << "warning: could not restart with OMP_WAIT_POLICY and OPENBLAS_NUM_THREADS set ("
            << std::strerror(errno) << "); LibTorch's CPU kernels keep the libraries' defaults"
            << std::endl;
}

}  // namespace speech
