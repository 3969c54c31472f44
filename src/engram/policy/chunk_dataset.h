// Training examples for a chunk policy from a demonstration dataset (RTC spec §2.1): one example per
// step j of every episode, (o_j, [a_j … a_{j+H−1}]), with every action at or after the episode's
// terminal step set to 0, as the paper's code does — except in TableWorld datasets, whose terminal
// action (the gripper closing) is kept and only the steps after it are 0.
#pragma once

#include <string>

#include <nlohmann/json.hpp>
#include <torch/types.h>

namespace engram {

struct ChunkDataset {
  torch::Tensor obs;     // [N, obs_dim] float32, raw
  torch::Tensor chunks;  // [N, H, action_dim] clean expert actions
  nlohmann::json env_args;
  int64_t episodes = 0;
};

// Episodes whose index modulo `holdout_every` is 0 go to `valid` (0: none), the rest to `train`.
void load_chunk_dataset(const std::string& path, int64_t horizon, int64_t holdout_every, ChunkDataset& train,
                        ChunkDataset& valid);

}  // namespace engram
