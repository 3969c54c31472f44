// One expert episode, recorded as a demonstration (RTC spec §12.2): the clean planner action is the
// label, the environment executes it with actuation noise.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "engram/sim/env.h"
#include "engram/sim/mppi.h"

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

// The style of episode `index` in a dataset with `styles` styles: uniform, from the episode's seed.
int episode_style(uint64_t seed, int64_t index, int styles);

// Runs style `style` from the deterministic start with actuation-noise stream `seed`·`index`.
// `on_step` (optional) sees the env after each step, e.g. to render frames.
Episode run_expert_episode(const std::shared_ptr<const SimModel>& model, const ExpertStyle& style, int style_index,
                           uint64_t seed, int64_t index, const std::function<void(const Env&)>& on_step = {});

}  // namespace engram
