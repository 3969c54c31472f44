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
  return record_episode(env, std::move(obs), index, style, 3,
                        [&](const std::vector<double>& o) { return expert.act(env.steps(), o[0], o[1], o[2], o[3]); }, on_step);
}

}  // namespace engram::tableworld
