// Unicycle (RTC spec §12.1, task 3; ≈ Kinetix h17_unicycle, gravity 1.2 m/s²): a wheel driven by a
// soft velocity servo against a pole that carries a green head; balance and ride right until the head
// touches the blue block, without the head touching the red floor.
#include <cmath>

#include "engram/sim/tasks.h"

namespace engram {
namespace {

class Unicycle : public SimTask {
 public:
  std::string name() const override { return "unicycle"; }
  std::string description() const override {
    return "wheel with a soft-servo motor balances a pole and rides its head into the blue block";
  }
  std::string mjcf() const override {
    return mjcf_header("unicycle", 1.2) +
           "  <worldbody>\n" + mjcf_arena("red", "neutral") +
           "    <geom name=\"blue_block\" class=\"blue\" pos=\"4.8 0 1.6\" size=\"0.15 0.2 0.2\"/>\n"
           "    <body name=\"wheel\" pos=\"0.8 0 0.4\">\n"
           "      <joint name=\"x\" type=\"slide\" axis=\"1 0 0\"/>\n"
           "      <joint name=\"z\" type=\"slide\" axis=\"0 0 1\"/>\n"
           "      <joint name=\"spin\" type=\"hinge\" axis=\"0 1 0\"/>\n"
           "      <geom name=\"wheel\" type=\"cylinder\" size=\"0.3 0.05\" euler=\"1.5707963 0 0\" mass=\"1\" friction=\"1.5 0.005 0.0001\"/>\n"
           "      <body name=\"pole\">\n"
           "        <joint name=\"pole\" type=\"hinge\" axis=\"0 1 0\"/>\n"
           "        <geom name=\"pole\" type=\"capsule\" fromto=\"0 0 0 0 0 0.95\" size=\"0.03\" mass=\"0.2\"/>\n"
           "        <geom name=\"green_head\" class=\"green\" type=\"sphere\" pos=\"0 0 1.05\" size=\"0.12\" mass=\"0.3\"/>\n"
           "      </body>\n"
           "    </body>\n"
           "  </worldbody>\n"
           "  <actuator>\n"
           "    <motor name=\"servo\" joint=\"pole\"/>\n"
           "  </actuator>\n"
           "</mujoco>\n";
  }
  int obs_dim() const override { return 10; }
  ActionBounds action_bounds() const override { return {{-1}, {1}}; }
  // Soft velocity servo (RTC spec §7.1): torque = T·tanh(c·(ω* − ω)), ω* = 12·a rad/s the wheel's
  // speed relative to the pole; it acts on the pole joint, so the wheel feels the reaction.
  void apply(const mjModel* m, mjData* d, const double* action) const override {
    const double wheel_rel = -d->qvel[3];
    d->ctrl[0] = -kTorque * std::tanh(0.5 * (12.0 * action[0] - wheel_rel));
  }
  void observe(const mjModel* m, const mjData* d, double* obs) const override {
    const double pitch = d->qpos[2] + d->qpos[3];  // world angle of the pole
    const auto head = geom_pose(m, d, "green_head");
    obs[0] = d->qpos[0] + 0.8;
    obs[1] = d->qvel[0];
    obs[2] = std::sin(pitch);
    obs[3] = std::cos(pitch);
    obs[4] = d->qvel[2] + d->qvel[3];
    obs[5] = -d->qvel[3];
    obs[6] = head.x;
    obs[7] = head.z;
    obs[8] = 4.8;
    obs[9] = 1.6;
  }
  double shaping_cost(const mjModel* m, const mjData* d) const override {
    return 1.0 * (1.0 - std::cos(d->qpos[2] + d->qpos[3]));
  }

 private:
  static constexpr double kTorque = 1.5;
};

}  // namespace

std::unique_ptr<SimTask> make_unicycle() { return std::make_unique<Unicycle>(); }

}  // namespace engram
