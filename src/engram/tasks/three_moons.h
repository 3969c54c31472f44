// Three moons (Memory Mosaics spec §6.1, §13.2): three bodies on unit circles with different
// periods, observed as (sin θ, cos θ) pairs. Predicting the next observation needs one full period
// of the joint system, unless a model splits the problem per moon ("predictive disentanglement").
//
// Systems: the 35 period triples from {0.5, 1, …, 3.5}, sorted stably by joint period
// L = lcm(10·p)/10 and cut to the 9 shortest; the last of those, (1, 1.5, 2), is held out and the
// other 8 train. Time step Δ = 1/44.44… (block / max L / 3 with block 800, max L 6).
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include <torch/types.h>

namespace engram {

using MoonPeriods = std::array<double, 3>;

struct MoonSystems {
  std::vector<MoonPeriods> train;  // 8 systems
  MoonPeriods held_out;            // (1, 1.5, 2)
};

// The spec's selection of systems (stable sort, lexicographic tie-break).
MoonSystems moon_systems();

// Joint period of a system in time units (lcm on the 0.1 grid).
double joint_period(const MoonPeriods& periods);

constexpr double kMoonStepsPerUnit = 800.0 / 6.0 / 3.0;  // 44.44 steps per time unit
constexpr int64_t kMoonGrid = 10000;                     // the global time grid a window is cut from

// Observations at steps start … start+length−1: [length, 6] = (sin θ_i, cos θ_i) for i = 1..3,
// θ_i(t) = 2π·t/(steps_per_unit·p_i) + 0.3.
torch::Tensor moon_observations(const MoonPeriods& periods, int64_t start, int64_t length);

// `batch` windows of length+1 steps [batch, length+1, 6], each from a system drawn uniformly from
// `systems`, starting at a uniform offset in [0, 10000 − 2·length − 1) as the reference does.
torch::Tensor moon_batch(const std::vector<MoonPeriods>& systems, int64_t batch, int64_t length, std::mt19937_64& rng);

}  // namespace engram
