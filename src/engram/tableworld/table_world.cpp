#include "engram/tableworld/table_world.h"

#include "engram/core/error.h"
#include "engram/tableworld/bezier_expert.h"
#include "engram/tableworld/table_env.h"

namespace engram::tableworld {

const std::vector<std::string>& table_world_names() {
  static const std::vector<std::string> names = {"tableworld", "tableworld-direct", "tableworld-known", "tableworld-novel"};
  return names;
}

std::shared_ptr<const World> open_table_world(const std::string& name) {
  const auto& names = table_world_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return std::make_shared<const TableWorld>(static_cast<Split>(i));
  return nullptr;
}

TableWorld::TableWorld(Split split) : split_(split) {}

std::string TableWorld::name() const { return table_world_names()[static_cast<size_t>(split_)]; }

std::string TableWorld::description() const {
  switch (split_) {
    case Split::kTraining: return "point mass reaches the instructed object (60 % direct, 40 % facts of E_train)";
    case Split::kDirect: return "TableWorld, direct instructions only (evaluation)";
    case Split::kKnownEntities: return "TableWorld, facts of E_train entities (evaluation)";
    default: return "TableWorld, facts of E_test entities, known only from text (evaluation)";
  }
}

int TableWorld::max_steps() const { return TableEnv::kMaxSteps; }

nlohmann::json TableWorld::describe() const {
  return {{"type", "engram-tableworld"}, {"noise_std", 0.0}, {"control_hz", TableEnv::kHz}, {"max_steps", TableEnv::kMaxSteps}};
}

std::unique_ptr<Env> TableWorld::make_env() const { return std::make_unique<TableEnv>(split_); }

Episode TableWorld::expert_episode(int style, uint64_t seed, int64_t index, const std::function<void(const Env&)>& on_step) const {
  if (style != BezierExpert::kLeft && style != BezierExpert::kRight)
    throw Error("task " + name() + " has expert styles 0–1, not " + std::to_string(style));
  const uint64_t s = episode_seed(seed, index);
  TableEnv env(split_);
  auto obs = env.reset(s);
  BezierExpert expert(env.scene(), style, s);
  Episode ep;
  ep.index = index;
  ep.style = style;
  ep.obs_dim = kObsDim;
  ep.action_dim = 3;
  if (on_step) on_step(env);
  while (!env.done()) {
    const auto action = expert.act(env.steps(), obs[0], obs[1], obs[2], obs[3]);
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

}  // namespace engram::tableworld
