// TableWorld-2D's scripted expert (KI spec §8.1): a quadratic Bézier path from the start to the
// target that bows to the left or the right (the style) by 0.1–0.3, traversed with minimum-jerk
// timing over distance/0.45 + U(0.3, 0.8) s. Each step commands the velocity that reaches the path's
// next point (inverting the agent's velocity lag), plus N(0, 0.02²) noise; the gripper stays open
// (−1) until the agent has arrived and slowed down, then closes (+1). Two sides give a bimodal
// action distribution that regression would average into a straight line. A bow whose path passes
// within 0.2 of another object is replaced by the clearest bow on the same side, since passing
// within 0.15 counts as going to that object.
#pragma once

#include <array>
#include <cstdint>
#include <random>
#include <vector>

#include "engram/tableworld/scene.h"

namespace engram::tableworld {

class BezierExpert {
 public:
  static constexpr int kLeft = 0, kRight = 1;

  BezierExpert(const Scene& scene, int side, uint64_t seed);
  // The action for the agent at (p, v) after `step` steps of the episode.
  std::vector<double> act(int step, double px, double py, double vx, double vy);

  double duration() const { return duration_; }  // seconds
  std::array<double, 2> path(double s) const;     // the Bézier point at s ∈ [0, 1]

 private:
  std::array<double, 2> p0_, p1_, p2_;
  double duration_;
  std::mt19937_64 rng_;
};

}  // namespace engram::tableworld
