// TableWorld-2D's simulator (KI spec §8.1): a point-mass agent on the table [−1, 1]² at 20 Hz with
// action (u_x, u_y, g) ∈ [−1, 1]³. Velocity follows the command with a first-order lag,
// v ← v + 0.5·(0.6·clip(u) − v), p ← clamp(p + 0.05·v); the gripper closes when g > 0, which ends
// the episode, as do 100 steps.
//   success: the close happens within 0.07 of the instructed object at speed < 0.15;
//   followed: the object nearest the agent at the first close or at the first approach within 0.15
//             of any object, whichever comes first, is the instructed one.
// No actuation noise: the scene, chosen by the seed, is the only randomness.
#pragma once

#include "engram/sim/env.h"
#include "engram/tableworld/scene.h"

namespace engram::tableworld {

class TableEnv : public Env {
 public:
  explicit TableEnv(Split split);

  std::vector<double> reset(uint64_t seed) override;
  StepResult step(const std::vector<double>& action) override;
  std::vector<double> observe() const override;
  const std::vector<double>& executed_action() const override { return executed_; }
  int steps() const override { return steps_; }
  bool done() const override { return done_; }
  Image render(int size) const override;

  const Scene& scene() const { return scene_; }
  double x() const { return p_[0]; }
  double y() const { return p_[1]; }
  double speed() const;
  // The object the agent committed to (−1: none yet), and whether it is the target.
  int committed_object() const { return committed_; }
  bool followed() const { return committed_ == scene_.target; }

  static constexpr int kMaxSteps = 100;
  static constexpr double kHz = 20;

 private:
  int nearest_object() const;
  Split split_;
  Scene scene_;
  double p_[2] = {0, 0}, v_[2] = {0, 0};
  std::vector<double> executed_ = std::vector<double>(3, 0.0);
  int steps_ = 0;
  int committed_ = -1;
  bool done_ = true;
};

}  // namespace engram::tableworld
