// A demonstration episode of T all-zero steps, the last marked done, for dataset tests that then
// spoil one field.
#pragma once

#include <cstdint>

#include "engram/sim/episode.h"

namespace engram::testing {

inline Episode blank_episode(int64_t T, int obs_dim, int action_dim) {
  Episode ep;
  ep.obs_dim = obs_dim;
  ep.action_dim = action_dim;
  ep.obs.assign(static_cast<size_t>(T * obs_dim), 0.f);
  ep.actions.assign(static_cast<size_t>(T * action_dim), 0.f);
  ep.executed_actions.assign(static_cast<size_t>(T * action_dim), 0.f);
  ep.rewards.assign(static_cast<size_t>(T), 0.f);
  ep.dones.assign(static_cast<size_t>(T), 0);
  ep.dones.back() = 1;
  return ep;
}

}  // namespace engram::testing
