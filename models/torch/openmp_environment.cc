#include "models/torch/openmp_environment.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>

namespace speech {

void RestartWithPassiveOpenMpWaitPolicy(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  if (setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/1) != 0) return;
  execv("/proc/self/exe", argv);
  std::cerr << "warning: could not restart with OMP_WAIT_POLICY=PASSIVE (" << std::strerror(errno)
            << "); LibTorch's intra-op threads keep OpenMP's default wait policy" << std::endl;
}

}  // namespace speech
