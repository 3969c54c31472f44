// TableWorld-2D as a World (KI spec §8.1), one per instruction split:
//   "tableworld"         robot data: 60 % direct, 40 % knowledge over E_train
//   "tableworld-direct"  evaluation: direct instructions
//   "tableworld-known"   evaluation: knowledge over E_train entities
//   "tableworld-novel"   evaluation: knowledge over E_test entities, known only from the LM corpus
// The expert's two styles are the Bézier path's two sides.
#pragma once

#include "engram/sim/env.h"
#include "engram/tableworld/scene.h"

namespace engram::tableworld {

class TableWorld : public World {
 public:
  explicit TableWorld(Split split);

  std::string name() const override;
  std::string description() const override;
  int obs_dim() const override { return kObsDim; }
  int action_dim() const override { return 3; }
  const ActionBounds& bounds() const override { return bounds_; }
  int max_steps() const override;
  nlohmann::json describe() const override;
  std::unique_ptr<Env> make_env() const override;
  std::vector<std::string> expert_styles() const override { return {"bow-left", "bow-right"}; }
  Episode expert_episode(int style, uint64_t seed, int64_t index, const std::function<void(const Env&)>& on_step) const override;

  Split split() const { return split_; }

 private:
  Split split_;
  ActionBounds bounds_{{-1, -1, -1}, {1, 1, 1}};
};

const std::vector<std::string>& table_world_names();
// nullptr when `name` is not one of table_world_names().
std::shared_ptr<const World> open_table_world(const std::string& name);

}  // namespace engram::tableworld
