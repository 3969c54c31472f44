#include "engram/sim/sim_task.h"

#include "engram/core/error.h"
#include "engram/sim/tasks.h"

namespace engram {

void SimTask::apply(const mjModel* m, mjData* d, const double* action) const {
  for (int i = 0; i < m->nu; ++i) d->ctrl[i] = action[i];
}

std::vector<std::string> sim_task_names() { return {"slalom", "cartpole_thrust", "lander", "unicycle", "chain_lander"}; }

std::unique_ptr<SimTask> make_sim_task(const std::string& name) {
  if (name == "slalom") return make_slalom();
  if (name == "cartpole_thrust") return make_cartpole_thrust();
  if (name == "lander") return make_lander();
  if (name == "unicycle") return make_unicycle();
  if (name == "chain_lander") return make_chain_lander();
  std::string known;
  for (const auto& n : sim_task_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown task '" + name + "' (known tasks: " + known + ")");
}

}  // namespace engram
