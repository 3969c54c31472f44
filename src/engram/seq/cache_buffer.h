// Growable buffers for incremental decoding (KV caches, associative memories).
#pragma once

#include <algorithm>

#include <torch/torch.h>

namespace engram {

// Makes `buffer` hold at least `needed` entries along `dim`, doubling its capacity when it must
// grow (so appending one position at a time costs amortised O(1) copies); existing entries are kept.
inline void reserve_along(torch::Tensor& buffer, int64_t dim, int64_t needed) {
  const int64_t have = buffer.size(dim);
  if (have >= needed) return;
  auto sizes = buffer.sizes().vec();
  sizes[dim] = std::max<int64_t>(2 * have, needed);
  auto grown = torch::zeros(sizes, buffer.options());
  grown.narrow(dim, 0, have).copy_(buffer);
  buffer = grown;
}

}  // namespace engram
