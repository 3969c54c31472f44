// The planning expert (RTC spec §12.2): MPPI with the simulator itself as the model. At every control
// step it perturbs its plan K times (time-correlated Gaussian knots every 3 steps, linearly
// interpolated), rolls each out from an exact copy of the current state, weights the rollouts by
// exp(−(C − C_min)/λ) with λ a fraction of the cost spread, executes the first action of the weighted
// plan and shifts the plan by one step (warm start).
//
// Cost per step: the green body's distance to the goal (through the style's via point, if any) + the
// task's shaping + a small control cost; −100 on success and +100 on failure, after which a rollout
// stops accumulating.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "engram/sim/mujoco_env.h"

namespace engram {

struct MppiConfig {
  int samples = 64;       // K rollouts per control step
  int horizon = 25;       // policy steps per rollout
  int knot_every = 3;     // perturbation knots, linearly interpolated between
  double sigma = 0.3;     // knot standard deviation, in action units
  double lambda = 0.1;    // temperature as a fraction of (C_max − C_min)
  double control_cost = 0.05;
  int via = -1;           // index into the task's via points; −1 heads straight for the goal
};

// An expert style (spec §12.2 "multimodality"): one of several planners per task, chosen per episode.
struct ExpertStyle {
  std::string name;
  MppiConfig mppi;
};
// Four styles per task: each of the task's via points (or none) × horizons {25, 15}, with different
// temperatures, so the demonstrations mix visibly different behaviours.
std::vector<ExpertStyle> expert_styles(const SimTask& task);

class MppiExpert {
 public:
  MppiExpert(std::shared_ptr<const SimModel> model, MppiConfig config);
  ~MppiExpert();
  MppiExpert(const MppiExpert&) = delete;
  MppiExpert& operator=(const MppiExpert&) = delete;

  // A fresh plan (every action at the middle of its range) and perturbation stream.
  void reset(uint64_t seed);
  // Plans from `state` (left untouched) and returns the clean action to execute.
  std::vector<double> act(const mjData* state);

  const MppiConfig& config() const { return config_; }

 private:
  double rollout(const mjData* state, const std::vector<double>& plan);
  double step_cost(const mjData* d) const;

  std::shared_ptr<const SimModel> model_;
  MppiConfig config_;
  int A_;
  std::vector<double> plan_;               // horizon × A
  std::vector<std::vector<double>> samples_;
  std::vector<double> costs_;
  mjData* scratch_ = nullptr;
  std::mt19937_64 rng_;
  std::array<double, 2> via_{};
  bool has_via_ = false;
};

}  // namespace engram
