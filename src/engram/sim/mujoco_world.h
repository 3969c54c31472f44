// The planar MuJoCo tasks as Worlds (RTC spec §12): environments are MujocoEnvs of one compiled
// model, the expert is MPPI with the task's four styles.
#pragma once

#include <functional>
#include <memory>

#include "engram/sim/env.h"
#include "engram/sim/mppi.h"
#include "engram/sim/mujoco_env.h"

namespace engram {

class MujocoWorld : public World {
 public:
  explicit MujocoWorld(std::shared_ptr<const SimModel> model);

  std::string name() const override { return model_->task().name(); }
  std::string description() const override { return model_->task().description(); }
  int obs_dim() const override { return model_->obs_dim(); }
  int action_dim() const override { return model_->action_dim(); }
  const ActionBounds& bounds() const override { return model_->bounds(); }
  int max_steps() const override { return SimModel::kMaxSteps; }
  nlohmann::json describe() const override;
  std::unique_ptr<Env> make_env() const override;
  std::vector<std::string> expert_styles() const override;
  Episode expert_episode(int style, uint64_t seed, int64_t index, const std::function<void(const Env&)>& on_step) const override;

  const std::shared_ptr<const SimModel>& model() const { return model_; }

 private:
  std::shared_ptr<const SimModel> model_;
  std::vector<ExpertStyle> styles_;
};

// Runs MPPI style `style` from the deterministic start with the noise streams of `episode_seed(seed,
// index)`.
Episode run_expert_episode(const std::shared_ptr<const SimModel>& model, const ExpertStyle& style, int style_index,
                           uint64_t seed, int64_t index, const std::function<void(const Env&)>& on_step = {});

}  // namespace engram
