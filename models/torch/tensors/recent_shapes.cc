#include "models/torch/tensors/recent_shapes.h"

#include "proto/check.h"

namespace speech {

RecentShapes::RecentShapes(size_t capacity) : capacity_(capacity) {
  SPEECH_CHECK(capacity >= 1, "RecentShapes needs a capacity of at least 1");
  window_.reserve(capacity);
  counts_.reserve(capacity);
}

bool RecentShapes::Note(uint64_t key) {
  const bool seen = counts_.contains(key);
  if (window_.size() < capacity_) {
    window_.push_back(key);
  } else {
    auto oldest = counts_.find(window_[next_]);
    if (--oldest->second == 0) counts_.erase(oldest);
    window_[next_] = key;
    next_ = (next_ + 1) % window_.size();
  }
  ++counts_[key];
  return seen;
}

}  // namespace speech
