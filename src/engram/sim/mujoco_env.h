// MujocoEnv: one episode of a SimTask in MuJoCo (RTC spec §12.1). The policy acts at 30 Hz (two 1/60 s
// physics substeps per action); the environment adds Gaussian actuation noise N(0, 0.1²) to every
// action dimension before clipping; an episode ends on the first green–blue contact (success),
// green–red contact (failure) or after 256 actions. The same seed gives the same episode bit for bit.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include <mujoco/mujoco.h>

#include "engram/sim/env.h"
#include "engram/sim/sim_task.h"

namespace engram {

// The compiled model of a task and the role of each geom, shared (read-only) by every Env, planner
// and renderer of that task.
class SimModel {
 public:
  explicit SimModel(std::unique_ptr<SimTask> task);
  ~SimModel();
  SimModel(const SimModel&) = delete;
  SimModel& operator=(const SimModel&) = delete;

  enum Role : int8_t { kNeutral = 0, kGreen = 1, kBlue = 2, kRed = 3 };
  // One policy step from `d` with an already clipped action: two substeps, stopping at the first
  // one that ends the episode. Returns +1 (success), −1 (failure), kUnstable (the simulation
  // diverged: a failure too) or 0.
  int advance(mjData* d, const double* action) const;
  std::array<double, 2> green_position(const mjData* d) const;
  std::array<double, 2> blue_position(const mjData* d) const;
  Role role(int geom) const { return roles_[static_cast<size_t>(geom)]; }

  const SimTask& task() const { return *task_; }
  const mjModel* model() const { return model_; }
  int action_dim() const { return model_->nu; }
  int obs_dim() const { return task_->obs_dim(); }
  const ActionBounds& bounds() const { return bounds_; }

  static constexpr int kFrameSkip = 2;
  static constexpr int kMaxSteps = 256;
  static constexpr int kUnstable = -2;

 private:
  int contact_outcome(const mjData* d) const;
  std::unique_ptr<SimTask> task_;
  mjModel* model_ = nullptr;
  std::vector<Role> roles_;
  int green_ = -1, blue_ = -1;
  ActionBounds bounds_;
};

// The exact state of a MujocoEnv: all of mjData plus the noise stream and the step counter.
struct EnvState {
  std::shared_ptr<mjData> data;
  std::mt19937_64 noise;
  int steps = 0;
  bool done = false;
};

class MujocoEnv : public Env {
 public:
  explicit MujocoEnv(std::shared_ptr<const SimModel> model, double noise_std = 0.1);
  ~MujocoEnv() override;
  MujocoEnv(const MujocoEnv&) = delete;
  MujocoEnv& operator=(const MujocoEnv&) = delete;

  // Deterministic initial state; `seed` only chooses the actuation-noise stream.
  std::vector<double> reset(uint64_t seed) override;
  // Adds the actuation noise, clips, steps.
  StepResult step(const std::vector<double>& action) override;
  std::vector<double> observe() const override;
  const std::vector<double>& executed_action() const override { return executed_; }
  int steps() const override { return steps_; }
  bool done() const override { return done_; }
  Image render(int size) const override;

  EnvState save() const;
  void load(const EnvState& state);

  const SimModel& sim() const { return *model_; }
  const mjData* data() const { return data_; }

 private:
  std::shared_ptr<const SimModel> model_;
  mjData* data_ = nullptr;
  double noise_std_;
  std::mt19937_64 noise_;
  std::vector<double> executed_;
  int steps_ = 0;
  bool done_ = true;
};

}  // namespace engram
