// ChainLander (RTC spec §12.1, task 4; ≈ Kinetix chain_lander): a box lifted by two upward thrusters
// carries a passive 3-link chain ending in a green ball; the ball must reach the blue plank behind a
// fixed obstacle without touching the red floor. Gravity 4 m/s².
#include <cmath>

#include "engram/sim/tasks.h"

namespace engram {
namespace {

class ChainLander : public SimTask {
 public:
  std::string name() const override { return "chain_lander"; }
  std::string description() const override {
    return "thrust-lifted box swings a 3-link chain's green ball over an obstacle onto the blue plank";
  }
  std::string mjcf() const override {
    std::string chain;
    // Three 0.3 m links, each hinged to the one above; the last carries the ball.
    const char* links[] = {"link1", "link2", "link3"};
    std::string close;
    for (int i = 0; i < 3; ++i) {
      chain += std::string("      <body name=\"") + links[i] + "\" pos=\"0 0 " + (i == 0 ? "-0.1" : "-0.3") + "\">\n" +
               "        <joint name=\"" + links[i] + "\" type=\"hinge\" axis=\"0 1 0\" damping=\"0.005\"/>\n" +
               "        <geom name=\"" + links[i] + "\" type=\"capsule\" fromto=\"0 0 0 0 0 -0.3\" size=\"0.025\" mass=\"0.05\"/>\n";
      close += "      </body>\n";
    }
    chain += "        <geom name=\"green_ball\" class=\"green\" type=\"sphere\" pos=\"0 0 -0.36\" size=\"0.08\" mass=\"0.1\"/>\n";
    return mjcf_header("chain_lander", 4.0) +
           "  <worldbody>\n" + mjcf_arena("red", "neutral") +
           "    <geom name=\"obstacle\" pos=\"3.2 0 1.1\" size=\"0.1 0.2 1.0\"/>\n"
           "    <geom name=\"blue_plank\" class=\"blue\" pos=\"4.2 0 0.3\" size=\"0.45 0.2 0.05\"/>\n"
           "    <body name=\"box\" pos=\"0.8 0 3.2\">\n"
           "      <joint name=\"x\" type=\"slide\" axis=\"1 0 0\"/>\n"
           "      <joint name=\"z\" type=\"slide\" axis=\"0 0 1\"/>\n"
           "      <joint name=\"pitch\" type=\"hinge\" axis=\"0 1 0\" damping=\"0.02\"/>\n"
           "      <geom name=\"box\" size=\"0.25 0.1 0.1\" mass=\"1\"/>\n"
           "      <site name=\"thruster_left\" pos=\"-0.2 0 -0.1\"/>\n"
           "      <site name=\"thruster_right\" pos=\"0.2 0 -0.1\"/>\n" +
           chain + close +
           "    </body>\n"
           "  </worldbody>\n"
           "  <actuator>\n"
           "    <general name=\"left\" site=\"thruster_left\" gear=\"0 0 5 0 0 0\" ctrllimited=\"true\" ctrlrange=\"0 1\"/>\n"
           "    <general name=\"right\" site=\"thruster_right\" gear=\"0 0 5 0 0 0\" ctrllimited=\"true\" ctrlrange=\"0 1\"/>\n"
           "  </actuator>\n"
           "</mujoco>\n";
  }
  int obs_dim() const override { return 22; }
  ActionBounds action_bounds() const override { return {{0, 0}, {1, 1}}; }
  void observe(const mjModel* m, const mjData* d, double* obs) const override {
    obs[0] = d->qpos[0] + 0.8;
    obs[1] = d->qpos[1] + 3.2;
    obs[2] = std::sin(d->qpos[2]);
    obs[3] = std::cos(d->qpos[2]);
    obs[4] = d->qvel[0];
    obs[5] = d->qvel[1];
    obs[6] = d->qvel[2];
    double angle = d->qpos[2];
    for (int i = 0; i < 3; ++i) {  // world angle and relative rate of each link
      angle += d->qpos[3 + i];
      obs[7 + 3 * i] = std::sin(angle);
      obs[8 + 3 * i] = std::cos(angle);
      obs[9 + 3 * i] = d->qvel[3 + i];
    }
    const int ball = mj_name2id(m, mjOBJ_GEOM, "green_ball");
    mjtNum vel[6];
    mj_objectVelocity(m, d, mjOBJ_GEOM, ball, vel, 0);  // [angular, linear] in the world frame
    obs[16] = d->geom_xpos[3 * ball];
    obs[17] = d->geom_xpos[3 * ball + 2];
    obs[18] = vel[3];
    obs[19] = vel[5];
    obs[20] = 4.2;
    obs[21] = 0.3;
  }
  double shaping_cost(const mjModel* m, const mjData* d) const override {
    return 0.2 * (1.0 - std::cos(d->qpos[2]));
  }
  // The chain swings against the box's acceleration, which a short horizon reads as the ball moving
  // the wrong way; steering the box (its centre lowered by the chain's length) avoids that.
  std::array<double, 2> guide_point(const mjModel* m, const mjData* d, std::array<double, 2> green) const override {
    return {d->qpos[0] + 0.8, d->qpos[1] + 3.2 - 1.0};
  }
  // Over the obstacle (top at z 2.1): high, or just clearing it.
  std::vector<std::array<double, 2>> via_points() const override { return {{{3.2, 3.0}}, {{3.2, 2.5}}}; }
};

}  // namespace

std::unique_ptr<SimTask> make_chain_lander() { return std::make_unique<ChainLander>(); }

}  // namespace engram
