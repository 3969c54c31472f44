#include "engram/policy/temporal_ensemble.h"

#include <cmath>

#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {

void TemporalEnsemble::add(const torch::Tensor& chunk, int64_t first_tick, int64_t usable_from) {
  if (chunk.dim() != 3) throw Error("temporal ensemble: chunks must be [B, H, M], got " + c10::str(chunk.sizes()));
  entries_.push_back({chunk.to(torch::kFloat64).contiguous(), first_tick, usable_from});
}

std::vector<double> TemporalEnsemble::action(int64_t b, int64_t tick) const {
  std::vector<double> sum;
  double total = 0;
  int64_t i = 0;  // age rank among the voters, 0 = the oldest
  for (const auto& e : entries_) {
    const int64_t H = e.chunk.size(1), M = e.chunk.size(2), row = tick - e.first_tick;
    if (tick < e.usable_from || row < 0 || row >= H) continue;
    const double w = std::exp(-decay_ * static_cast<double>(i++));
    const double* a = e.chunk.data_ptr<double>() + (b * H + row) * M;
    sum.resize(static_cast<size_t>(M), 0.0);
    for (int64_t m = 0; m < M; ++m) sum[static_cast<size_t>(m)] += w * a[m];
    total += w;
  }
  if (total == 0) throw Error("temporal ensemble: no chunk covers tick " + std::to_string(tick));
  for (auto& v : sum) v /= total;
  return sum;
}

void TemporalEnsemble::forget_before(int64_t tick) {
  while (!entries_.empty() && entries_.front().first_tick + entries_.front().chunk.size(1) <= tick) entries_.pop_front();
}

}  // namespace engram
