#include "engram/sim/mujoco_world.h"

#include "engram/core/error.h"

namespace engram {

MujocoWorld::MujocoWorld(std::shared_ptr<const SimModel> model)
    : model_(std::move(model)), styles_(engram::expert_styles(model_->task())) {}

nlohmann::json MujocoWorld::describe() const {
  return {{"type", "engram-mujoco"}, {"noise_std", 0.1}, {"control_hz", 30}, {"max_steps", SimModel::kMaxSteps}};
}

std::unique_ptr<Env> MujocoWorld::make_env() const { return std::make_unique<MujocoEnv>(model_); }

std::vector<std::string> MujocoWorld::expert_styles() const {
  std::vector<std::string> names;
  for (const auto& s : styles_) names.push_back(s.name);
  return names;
}

Episode MujocoWorld::expert_episode(int style, uint64_t seed, int64_t index, const std::function<void(const Env&)>& on_step) const {
  if (style < 0 || style >= static_cast<int>(styles_.size()))
    throw Error("task " + name() + " has expert styles 0–" + std::to_string(styles_.size() - 1) + ", not " + std::to_string(style));
  return run_expert_episode(model_, styles_[static_cast<size_t>(style)], style, seed, index, on_step);
}

Episode run_expert_episode(const std::shared_ptr<const SimModel>& model, const ExpertStyle& style, int style_index,
                           uint64_t seed, int64_t index, const std::function<void(const Env&)>& on_step) {
  const uint64_t s = episode_seed(seed, index);
  MujocoEnv env(model);
  MppiExpert expert(model, style.mppi);
  expert.reset(s ^ 0xE8E27ull);
  auto obs = env.reset(s);
  return record_episode(env, std::move(obs), index, style_index, model->action_dim(),
                        [&](const std::vector<double>&) { return expert.act(env.data()); }, on_step);
}

}  // namespace engram
