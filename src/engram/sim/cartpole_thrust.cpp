// CartpoleThrust (RTC spec §12.1, task 1; ≈ Kinetix cartpole_thrust): a cart on a rail pushed by two
// opposed thrusters (action in [0, 1] each) carries a passive green pole that starts upright; the pole
// must touch the blue block to the upper right without falling onto the red floor or posts.
#include <cmath>

#include "engram/sim/tasks.h"

namespace engram {
namespace {

class CartpoleThrust : public SimTask {
 public:
  std::string name() const override { return "cartpole_thrust"; }
  std::string description() const override {
    return "cart with two thrusters balances a passive pole and touches the blue block with it";
  }
  std::string mjcf() const override {
    return mjcf_header("cartpole_thrust", 9.81) +
           "  <worldbody>\n" + mjcf_arena("red", "neutral") +
           "    <geom name=\"red_post_left\" class=\"red\" pos=\"0.1 0 0.65\" size=\"0.05 0.2 0.55\"/>\n"
           "    <geom name=\"red_post_right\" class=\"red\" pos=\"4.9 0 0.65\" size=\"0.05 0.2 0.55\"/>\n"
           "    <geom name=\"rail\" pos=\"2.5 0 0.93\" size=\"2.3 0.02 0.02\" contype=\"0\" conaffinity=\"0\"/>\n"
           "    <geom name=\"blue_block\" class=\"blue\" pos=\"4.55 0 1.9\" size=\"0.15 0.2 0.15\"/>\n"
           "    <body name=\"cart\" pos=\"0.8 0 1.0\">\n"
           "      <joint name=\"x\" type=\"slide\" axis=\"1 0 0\" limited=\"true\" range=\"-0.4 3.7\" damping=\"0.2\"/>\n"
           "      <geom name=\"cart\" size=\"0.25 0.1 0.07\" mass=\"1\" contype=\"0\" conaffinity=\"0\"/>\n"
           "      <body name=\"pole\">\n"
           "        <joint name=\"hinge\" type=\"hinge\" axis=\"0 1 0\" damping=\"0.005\"/>\n"
           "        <geom name=\"green_pole\" class=\"green\" type=\"capsule\" fromto=\"0 0 0 0 0 1\" size=\"0.04\" mass=\"0.2\"/>\n"
           "      </body>\n"
           "    </body>\n"
           "  </worldbody>\n"
           "  <actuator>\n"
           "    <motor name=\"thrust_right\" joint=\"x\" gear=\"10\" ctrllimited=\"true\" ctrlrange=\"0 1\"/>\n"
           "    <motor name=\"thrust_left\" joint=\"x\" gear=\"-10\" ctrllimited=\"true\" ctrlrange=\"0 1\"/>\n"
           "  </actuator>\n"
           "</mujoco>\n";
  }
  int obs_dim() const override { return 9; }
  ActionBounds action_bounds() const override { return {{0, 0}, {1, 1}}; }
  void observe(const mjModel* m, const mjData* d, double* obs) const override {
    const double theta = d->qpos[1];
    const auto tip = geom_pose(m, d, "green_pole");
    obs[0] = d->qpos[0] + 0.8;
    obs[1] = d->qvel[0];
    obs[2] = std::sin(theta);
    obs[3] = std::cos(theta);
    obs[4] = d->qvel[1];
    obs[5] = tip.x + 0.5 * tip.sin_pitch;  // the pole's top end
    obs[6] = tip.z + 0.5 * tip.cos_pitch;
    obs[7] = 4.55;
    obs[8] = 1.9;
  }
  double shaping_cost(const mjModel* m, const mjData* d) const override {
    return 3.0 * (1.0 - std::cos(d->qpos[1]));  // keep the pole up
  }
};

}  // namespace

std::unique_ptr<SimTask> make_cartpole_thrust() { return std::make_unique<CartpoleThrust>(); }

}  // namespace engram
