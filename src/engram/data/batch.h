// A batch of sequences for next-token training, from token shards or synthetic tasks.
#pragma once

#include <torch/types.h>

namespace engram {

struct Batch {
  torch::Tensor inputs;      // [B, T] int64
  torch::Tensor targets;     // [B, T] int64: the token each position should predict
  torch::Tensor mask;        // [B, T] float, 1 where the target counts in the loss; undefined = all
  torch::Tensor score_mask;  // [B, T] bool, where a task's accuracy is measured; undefined = none

  // The same batch on another device.
  Batch to(const torch::Device& device) const {
    auto move = [&](const torch::Tensor& t) { return t.defined() ? t.to(device) : t; };
    return {move(inputs), move(targets), move(mask), move(score_mask)};
  }
};

}  // namespace engram
