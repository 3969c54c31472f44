// Lander (RTC spec §12.1, task 2; ≈ Kinetix hard_lunar_lander): a free planar body with two legs and
// two thrusters angled 18° outwards from vertical starts top-left and must touch the blue pad without
// touching the red floor. Gravity 4 m/s² (the thrusters together lift 1.8× the weight).
#include <cmath>

#include "engram/sim/tasks.h"

namespace engram {
namespace {

class Lander : public SimTask {
 public:
  std::string name() const override { return "lander"; }
  std::string description() const override {
    return "free body with two angled thrusters flies from the top left onto the blue pad";
  }
  std::string mjcf() const override {
    return mjcf_header("lander", 4.0) +
           "  <worldbody>\n" + mjcf_arena("red", "neutral") +
           "    <geom name=\"blue_pad\" class=\"blue\" pos=\"3.8 0 0.15\" size=\"0.45 0.2 0.05\"/>\n"
           "    <body name=\"lander\" pos=\"0.8 0 4.0\">\n"
           "      <joint name=\"x\" type=\"slide\" axis=\"1 0 0\"/>\n"
           "      <joint name=\"z\" type=\"slide\" axis=\"0 0 1\"/>\n"
           "      <joint name=\"pitch\" type=\"hinge\" axis=\"0 1 0\" damping=\"0.02\"/>\n"
           "      <geom name=\"green_body\" class=\"green\" size=\"0.25 0.1 0.1\" mass=\"1\"/>\n"
           "      <geom name=\"green_leg_left\" class=\"green\" type=\"capsule\" fromto=\"-0.2 0 -0.1 -0.35 0 -0.3\" size=\"0.03\" mass=\"0.05\"/>\n"
           "      <geom name=\"green_leg_right\" class=\"green\" type=\"capsule\" fromto=\"0.2 0 -0.1 0.35 0 -0.3\" size=\"0.03\" mass=\"0.05\"/>\n"
           "      <site name=\"thruster_left\" pos=\"-0.2 0 -0.1\" euler=\"0 -0.314 0\"/>\n"
           "      <site name=\"thruster_right\" pos=\"0.2 0 -0.1\" euler=\"0 0.314 0\"/>\n"
           "    </body>\n"
           "  </worldbody>\n"
           "  <actuator>\n"
           "    <general name=\"left\" site=\"thruster_left\" gear=\"0 0 4 0 0 0\" ctrllimited=\"true\" ctrlrange=\"0 1\"/>\n"
           "    <general name=\"right\" site=\"thruster_right\" gear=\"0 0 4 0 0 0\" ctrllimited=\"true\" ctrlrange=\"0 1\"/>\n"
           "  </actuator>\n"
           "</mujoco>\n";
  }
  int obs_dim() const override { return 9; }
  ActionBounds action_bounds() const override { return {{0, 0}, {1, 1}}; }
  void observe(const mjModel* m, const mjData* d, double* obs) const override {
    obs[0] = d->qpos[0] + 0.8;
    obs[1] = d->qpos[1] + 4.0;
    obs[2] = std::sin(d->qpos[2]);
    obs[3] = std::cos(d->qpos[2]);
    obs[4] = d->qvel[0];
    obs[5] = d->qvel[1];
    obs[6] = d->qvel[2];
    obs[7] = 3.8;
    obs[8] = 0.15;
  }
  double shaping_cost(const mjModel* m, const mjData* d) const override {
    return 1.0 * (1.0 - std::cos(d->qpos[2]));  // stay roughly level
  }
  // A high arc or a low run across the floor.
  std::vector<std::array<double, 2>> via_points() const override { return {{{2.4, 3.6}}, {{2.4, 2.0}}}; }
};

}  // namespace

std::unique_ptr<SimTask> make_lander() { return std::make_unique<Lander>(); }

}  // namespace engram
