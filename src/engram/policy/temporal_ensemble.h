// Temporal ensembling (ACT, Zhao et al. 2023) as RTC spec §6.3 runs it in the delay harness: every
// chunk that covers the current tick and has already arrived predicts an action for it, and the
// executed action is their mean — unweighted by default (the RTC paper's Kinetix variant), or with
// ACT's weights exp(−m·i), i = 0 for the oldest prediction.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include <torch/types.h>

namespace engram {

class TemporalEnsemble {
 public:
  explicit TemporalEnsemble(double decay = 0.0) : decay_(decay) {}
  // `chunk` [B, H, M] predicts ticks first_tick … first_tick + H − 1 and may be used from `usable_from`.
  void add(const torch::Tensor& chunk, int64_t first_tick, int64_t usable_from);
  // The ensembled action of batch row b at `tick`; throws when no usable chunk covers it.
  std::vector<double> action(int64_t b, int64_t tick) const;
  // Chunks that end before `tick` no longer vote.
  void forget_before(int64_t tick);

 private:
  struct Entry {
    torch::Tensor chunk;  // float64, contiguous
    int64_t first_tick, usable_from;
  };
  double decay_;
  std::deque<Entry> entries_;  // oldest first
};

}  // namespace engram
