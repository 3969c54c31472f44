#include "engram/tableworld/bezier_expert.h"

#include <algorithm>
#include <cmath>

#include "engram/tableworld/table_env.h"

namespace engram::tableworld {

BezierExpert::BezierExpert(const Scene& scene, int side, uint64_t seed) : rng_(seed ^ 0xBE21E5ull) {
  const auto& target = scene.objects[static_cast<size_t>(scene.target)];
  p0_ = {scene.start_x, scene.start_y};
  p2_ = {target.x, target.y};
  const double dx = p2_[0] - p0_[0], dy = p2_[1] - p0_[1], distance = std::hypot(dx, dy);
  // A quadratic Bézier's midpoint lies halfway to its control point: offset the control point by
  // twice the bow along the left (or right) normal.
  const double sign = side == kLeft ? 1.0 : -1.0;
  auto control = [&](double bow) {
    return std::array<double, 2>{(p0_[0] + p2_[0]) / 2 - sign * 2 * bow * dy / distance,
                                 (p0_[1] + p2_[1]) / 2 + sign * 2 * bow * dx / distance};
  };
  // The closest the path comes to another object: passing within 0.15 of one would count as going
  // there (the follow rule), so a bow that does is replaced by the clearest bow on the same side.
  auto clearance = [&](double bow) {
    p1_ = control(bow);
    double closest = 1e300;
    for (int k = 0; k < kObjects; ++k) {
      if (k == scene.target) continue;
      const auto& o = scene.objects[static_cast<size_t>(k)];
      for (int i = 0; i <= 64; ++i) {
        const auto q = path(i / 64.0);
        closest = std::min(closest, std::hypot(q[0] - o.x, q[1] - o.y));
      }
    }
    return closest;
  };
  double bow = std::uniform_real_distribution<double>(0.1, 0.3)(rng_);
  if (clearance(bow) < 0.2) {
    double best = -1;
    for (double b = 0.1; b <= 0.3001; b += 0.025)
      if (const double c = clearance(b); c > best) best = c, bow = b;
  }
  p1_ = control(bow);
  duration_ = distance / 0.45 + std::uniform_real_distribution<double>(0.3, 0.8)(rng_);
}

std::array<double, 2> BezierExpert::path(double s) const {
  const double a = (1 - s) * (1 - s), b = 2 * (1 - s) * s, c = s * s;
  return {a * p0_[0] + b * p1_[0] + c * p2_[0], a * p0_[1] + b * p1_[1] + c * p2_[1]};
}

std::vector<double> BezierExpert::act(int step, double px, double py, double vx, double vy) {
  const double dt = 1.0 / TableEnv::kHz;
  const double tau = std::min(1.0, (step + 1) * dt / duration_);
  const double s = tau * tau * tau * (10 - 15 * tau + 6 * tau * tau);  // minimum jerk
  const auto next = path(s);
  // v' = v + 0.5·(0.6·u − v) and p' = p + dt·v': the command that puts p' on the path's next point.
  std::normal_distribution<double> noise(0.0, 0.02);
  const double ux = std::clamp(((next[0] - px) / dt - 0.5 * vx) / 0.3 + noise(rng_), -1.0, 1.0);
  const double uy = std::clamp(((next[1] - py) / dt - 0.5 * vy) / 0.3 + noise(rng_), -1.0, 1.0);
  const bool arrived = tau >= 1.0 && std::hypot(p2_[0] - px, p2_[1] - py) < 0.03 && std::hypot(vx, vy) < 0.08;
  return {ux, uy, arrived ? 1.0 : -1.0};
}

}  // namespace engram::tableworld
