#include "engram/sim/episode.h"

#include <random>

#include "engram/sim/env.h"

namespace engram {

uint64_t episode_seed(uint64_t seed, int64_t index) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(index),
                    static_cast<uint32_t>(static_cast<uint64_t>(index) >> 32)};
  uint64_t out[1];
  seq.generate(reinterpret_cast<uint32_t*>(out), reinterpret_cast<uint32_t*>(out) + 2);
  return out[0];
}

int episode_style(uint64_t seed, int64_t index, int styles) {
  std::mt19937_64 rng(episode_seed(seed, index) ^ 0x5717E5ull);
  return static_cast<int>(std::uniform_int_distribution<int>(0, styles - 1)(rng));
}

Episode record_episode(Env& env, std::vector<double> obs, int64_t index, int style, int action_dim,
                       const std::function<std::vector<double>(const std::vector<double>& obs)>& act,
                       const std::function<void(const Env&)>& on_step) {
  Episode ep;
  ep.index = index;
  ep.style = style;
  ep.obs_dim = static_cast<int>(obs.size());
  ep.action_dim = action_dim;
  if (on_step) on_step(env);
  while (!env.done()) {
    const auto action = act(obs);
    const auto r = env.step(action);
    ep.obs.insert(ep.obs.end(), obs.begin(), obs.end());
    ep.actions.insert(ep.actions.end(), action.begin(), action.end());
    ep.executed_actions.insert(ep.executed_actions.end(), env.executed_action().begin(), env.executed_action().end());
    ep.rewards.push_back(static_cast<float>(r.reward));
    ep.dones.push_back(r.done ? 1 : 0);
    ep.success = r.success;
    obs = env.observe();
    if (on_step) on_step(env);
  }
  return ep;
}

}  // namespace engram
