// The registry of every task: the MuJoCo tasks, then TableWorld's splits.
#include "engram/core/error.h"
#include "engram/sim/env.h"
#include "engram/sim/mujoco_world.h"
#include "engram/tableworld/table_world.h"

namespace engram {

std::vector<std::string> world_names() {
  auto names = sim_task_names();
  for (const auto& n : tableworld::table_world_names()) names.push_back(n);
  return names;
}

std::shared_ptr<const World> open_world(const std::string& name) {
  if (auto table = tableworld::open_table_world(name)) return table;
  for (const auto& n : sim_task_names())
    if (n == name) return std::make_shared<const MujocoWorld>(std::make_shared<const SimModel>(make_sim_task(name)));
  std::string known;
  for (const auto& n : world_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown task '" + name + "' (known tasks: " + known + ")");
}

}  // namespace engram
