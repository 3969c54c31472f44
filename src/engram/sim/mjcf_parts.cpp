// MJCF pieces shared by the tasks (see tasks.h).
#include <string>

#include "engram/core/error.h"
#include "engram/sim/tasks.h"

namespace engram {

std::string mjcf_header(const std::string& model, double gravity) {
  // Euler at dt = 1/60 as Kinetix; geoms are 0.4 m deep in y so planar bodies always meet.
  return "<mujoco model=\"" + model + "\">\n"
         "  <compiler angle=\"radian\"/>\n"
         "  <option timestep=\"0.0166666666666667\" gravity=\"0 0 " + std::to_string(-gravity) + "\"/>\n"
         "  <default>\n"
         "    <geom type=\"box\" friction=\"0.8 0.005 0.0001\" rgba=\"0.55 0.55 0.58 1\"/>\n"
         "    <default class=\"green\"><geom rgba=\"0.22 0.72 0.32 1\"/></default>\n"
         "    <default class=\"blue\"><geom rgba=\"0.22 0.42 0.9 1\"/></default>\n"
         "    <default class=\"red\"><geom rgba=\"0.86 0.2 0.2 1\"/></default>\n"
         "  </default>\n";
}

std::string mjcf_arena(const std::string& floor_role, const std::string& wall_role) {
  auto geom = [](const std::string& role, const std::string& name, const char* pos, const char* size) {
    const std::string prefix = role == "neutral" ? "" : role + "_";
    const std::string cls = role == "neutral" ? "" : " class=\"" + role + "\"";
    return "    <geom name=\"" + prefix + name + "\"" + cls + " pos=\"" + pos + "\" size=\"" + size + "\"/>\n";
  };
  return geom(floor_role, "floor", "2.5 0 0.05", "2.5 0.2 0.05") +
         geom(wall_role, "wall_left", "-0.05 0 2.5", "0.05 0.2 2.5") +
         geom(wall_role, "wall_right", "5.05 0 2.5", "0.05 0.2 2.5") +
         geom(wall_role, "ceiling", "2.5 0 5.05", "2.5 0.2 0.05");
}

PlanarPose geom_pose(const mjModel* m, const mjData* d, const char* geom) {
  const int id = mj_name2id(m, mjOBJ_GEOM, geom);
  if (id < 0) throw Error(std::string("model has no geom '") + geom + "'");
  const mjtNum* R = d->geom_xmat + 9 * id;
  // A rotation about y by θ has R[0] = cos θ and R[2] = sin θ.
  return {d->geom_xpos[3 * id], d->geom_xpos[3 * id + 2], R[2], R[0]};
}

int joint_qpos(const mjModel* m, const char* joint) {
  const int id = mj_name2id(m, mjOBJ_JOINT, joint);
  if (id < 0) throw Error(std::string("model has no joint '") + joint + "'");
  return m->jnt_qposadr[id];
}

int joint_qvel(const mjModel* m, const char* joint) {
  const int id = mj_name2id(m, mjOBJ_JOINT, joint);
  if (id < 0) throw Error(std::string("model has no joint '") + joint + "'");
  return m->jnt_dofadr[id];
}

}  // namespace engram
