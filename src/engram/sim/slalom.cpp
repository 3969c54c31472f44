// Slalom (RTC spec §12.1, task 0): a point mass under 2-D force control, no gravity, flying from
// the left past a red block in the middle — above or below it, the two modes of the demonstrations —
// to the blue strip on the right. Every wall is red.
#include "engram/sim/tasks.h"

namespace engram {
namespace {

class Slalom : public SimTask {
 public:
  std::string name() const override { return "slalom"; }
  std::string description() const override {
    return "point mass, 2-D force; pass above or below the red block to the blue strip";
  }
  std::string mjcf() const override {
    return mjcf_header("slalom", 0.0) +
           "  <worldbody>\n" + mjcf_arena("red", "red") +
           "    <geom name=\"red_block\" class=\"red\" pos=\"2.5 0 2.5\" size=\"0.25 0.2 0.9\"/>\n"
           "    <geom name=\"blue_strip\" class=\"blue\" pos=\"4.85 0 2.5\" size=\"0.1 0.2 2.3\"/>\n"
           "    <body name=\"agent\" pos=\"0.6 0 2.5\">\n"
           "      <joint name=\"x\" type=\"slide\" axis=\"1 0 0\" damping=\"0.5\"/>\n"
           "      <joint name=\"z\" type=\"slide\" axis=\"0 0 1\" damping=\"0.5\"/>\n"
           "      <geom name=\"green_ball\" class=\"green\" type=\"sphere\" size=\"0.15\" mass=\"1\"/>\n"
           "    </body>\n"
           "  </worldbody>\n"
           "  <actuator>\n"
           "    <motor joint=\"x\" gear=\"4\"/>\n"
           "    <motor joint=\"z\" gear=\"4\"/>\n"
           "  </actuator>\n"
           "</mujoco>\n";
  }
  int obs_dim() const override { return 4; }
  ActionBounds action_bounds() const override { return {{-1, -1}, {1, 1}}; }
  void observe(const mjModel* m, const mjData* d, double* obs) const override {
    obs[0] = d->qpos[0] + 0.6;  // world x (the joint counts from the body's start)
    obs[1] = d->qpos[1] + 2.5;
    obs[2] = d->qvel[0];
    obs[3] = d->qvel[1];
  }
  std::vector<std::array<double, 2>> via_points() const override { return {{{2.5, 4.0}}, {{2.5, 1.0}}}; }
};

}  // namespace

std::unique_ptr<SimTask> make_slalom() { return std::make_unique<Slalom>(); }

}  // namespace engram
