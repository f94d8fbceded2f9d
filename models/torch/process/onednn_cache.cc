#include "models/torch/process/onednn_cache.h"

#include <cstdlib>
#include <string>

namespace speech {

bool SetOneDnnPrimitiveCacheCapacity(int capacity) {
  if (capacity <= 0 || std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY") != nullptr ||
      std::getenv("DNNL_PRIMITIVE_CACHE_CAPACITY") != nullptr) {
    return false;
  }
  return setenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY", std::to_string(capacity).c_str(),
                /*overwrite=*/0) == 0;
}

}  // namespace speech
