// The five planar tasks of RTC spec §12.1, one file each; sim_task.h's make_sim_task picks by name.
#pragma once

#include <memory>
#include <string>

#include "engram/sim/sim_task.h"

namespace engram {

std::unique_ptr<SimTask> make_slalom();
std::unique_ptr<SimTask> make_cartpole_thrust();
std::unique_ptr<SimTask> make_lander();
std::unique_ptr<SimTask> make_unicycle();
std::unique_ptr<SimTask> make_chain_lander();

// The parts every task's MJCF shares: header (dt = 1/60, the given gravity), role colours as
// default classes, and the arena (5 m × 5 m: floor, walls and ceiling with the given roles).
std::string mjcf_header(const std::string& model, double gravity);
std::string mjcf_arena(const std::string& floor_role, const std::string& wall_role);

// Body-frame helpers for observations: a geom's x/z centre and a planar body's pitch (sin, cos).
struct PlanarPose {
  double x, z, sin_pitch, cos_pitch;
};
PlanarPose geom_pose(const mjModel* m, const mjData* d, const char* geom);
int joint_qpos(const mjModel* m, const char* joint);  // address in qpos; throws if missing
int joint_qvel(const mjModel* m, const char* joint);  // address in qvel

}  // namespace engram
