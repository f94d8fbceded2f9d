// Which batch shapes an instance ran lately, so that a shape that keeps coming back can run at its
// own size instead of its bucket's (see ragged_padding's bucket_fraction).
#ifndef SPEECH_MODELS_TORCH_TENSORS_RECENT_SHAPES_H_
#define SPEECH_MODELS_TORCH_TENSORS_RECENT_SHAPES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace speech {

// A window over the last `capacity` shape keys noted. Thread-compatible: an instance's worker is
// its only user.
class RecentShapes {
 public:
  // REQUIRES: capacity >= 1.
  explicit RecentShapes(size_t capacity);

  // Notes `key` and says whether it was already among the last `capacity` keys noted.
  bool Note(uint64_t key);

 private:
  size_t capacity_;
  std::vector<uint64_t> window_;  // a ring, oldest at next_ once full
  size_t next_ = 0;
  absl::flat_hash_map<uint64_t, int> counts_;  // of the keys in window_
};

}  // namespace speech

#endif  // SPEECH_MODELS_TORCH_TENSORS_RECENT_SHAPES_H_
