// A decoder's key (or value) cache, one contiguous run of rows per head: [head, position, width].
// A read by one head then streams through consecutive memory. With every head's row side by side
// ([position, heads · width]) each head reads 128 of every 512 bytes, and past a few thousand
// positions, when the caches leave the last-level cache, generation slowed superlinearly
// (docs/RESULTS.md, "Scaling with the context").
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace engram {

class HeadCache {
 public:
  HeadCache() = default;
  HeadCache(int64_t heads, int64_t width) : heads_(heads), width_(width) {}

  // Makes room for `rows` positions per head; capacity doubles, so growth costs O(1) per row.
  void reserve(int64_t rows) {
    if (rows <= capacity_) return;
    const int64_t capacity = std::max<int64_t>({rows, 2 * capacity_, 64});
    std::vector<float> grown(static_cast<size_t>(heads_ * capacity * width_), 0.0f);
    for (int64_t h = 0; h < heads_; ++h)
      std::copy_n(data_.data() + h * capacity_ * width_, capacity_ * width_, grown.data() + h * capacity * width_);
    data_ = std::move(grown);
    capacity_ = capacity;
  }

  // Head h's row at position t (t < the reserved rows); rows of one head are `width` floats apart.
  float* row(int64_t h, int64_t t) { return data_.data() + (h * capacity_ + t) * width_; }
  const float* head(int64_t h) const { return data_.data() + h * capacity_ * width_; }

  // Writes the heads · width floats of one position (every head's part side by side) at t.
  void put(int64_t t, const float* x) {
    for (int64_t h = 0; h < heads_; ++h) std::copy_n(x + h * width_, width_, row(h, t));
  }

  void clear() {
    data_.clear();
    capacity_ = 0;
  }

 private:
  int64_t heads_ = 0, width_ = 0, capacity_ = 0;
  std::vector<float> data_;
};

}  // namespace engram
