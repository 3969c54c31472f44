// A planar MuJoCo task (RTC spec §12.1): its model, how an action drives it, what the policy sees and
// what the planning expert minimises. The simulation loop itself lives in Env; a task only describes.
//
// Roles follow Kinetix: geoms named "green*" are the goal object, "blue*" the goal, "red*" death.
// An episode succeeds when a green geom touches a blue one and fails when a green geom touches a red
// one (RTC spec §7.1).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <mujoco/mujoco.h>

#include "engram/sim/env.h"

namespace engram {

class SimTask {
 public:
  virtual ~SimTask() = default;
  virtual std::string name() const = 0;
  virtual std::string description() const = 0;
  // The MJCF model, generated here so that a user's machine needs no model files.
  virtual std::string mjcf() const = 0;
  virtual int obs_dim() const = 0;
  virtual ActionBounds action_bounds() const = 0;
  // Writes the controls for one physics substep from a clipped action (a soft servo reads qvel).
  virtual void apply(const mjModel* m, mjData* d, const double* action) const;
  // The policy's observation: compact physical state (positions, sin/cos angles, velocities, target).
  virtual void observe(const mjModel* m, const mjData* d, double* obs) const = 0;
  // Task shaping added to the expert's green–blue distance (e.g. keep the pole up); 0 by default.
  virtual double shaping_cost(const mjModel* m, const mjData* d) const { return 0.0; }
  // The point the expert steers to the goal; the green body's centre unless the task knows better
  // (a swinging payload is steered through the body that carries it).
  virtual std::array<double, 2> guide_point(const mjModel* m, const mjData* d, std::array<double, 2> green) const { return green; }
  // Via points that make the expert's demonstrations multimodal (e.g. above or below the obstacle):
  // the expert steers the green body through the style's via point before heading for the goal.
  virtual std::vector<std::array<double, 2>> via_points() const { return {}; }
};

// "slalom", "cartpole_thrust", "lander", "unicycle", "chain_lander"; anything else is an Error that
// lists the names.
std::unique_ptr<SimTask> make_sim_task(const std::string& name);
std::vector<std::string> sim_task_names();

}  // namespace engram
