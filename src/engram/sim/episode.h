// One episode of a scripted expert, recorded as a demonstration (RTC spec §12.2): the clean expert
// action is the label, the environment executes it (with its noise and clipping).
#pragma once

#include <cstdint>
#include <vector>

namespace engram {

struct Episode {
  int64_t index = 0;   // episode number in its dataset; seeds the noise streams
  int style = 0;       // which expert style acted
  int obs_dim = 0, action_dim = 0;
  std::vector<float> obs;               // T × obs_dim, the observation before each action
  std::vector<float> actions;           // T × action_dim, clean expert actions (the labels)
  std::vector<float> executed_actions;  // T × action_dim, with noise and clipping, as executed
  std::vector<float> rewards;           // T
  std::vector<uint8_t> dones;           // T
  bool success = false;
  int64_t length() const { return static_cast<int64_t>(rewards.size()); }
};

// The seed of episode `index` in a dataset with `seed`: everything random in the episode follows
// from it, so a dataset does not depend on how its episodes are split among workers.
uint64_t episode_seed(uint64_t seed, int64_t index);
// The style of episode `index` in a dataset with `styles` styles: uniform, from the episode's seed.
int episode_style(uint64_t seed, int64_t index, int styles);

}  // namespace engram
