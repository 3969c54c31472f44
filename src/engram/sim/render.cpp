#include "engram/sim/render.h"

#include <algorithm>
#include <cmath>

namespace engram {

namespace {

constexpr double kLo = -0.12, kHi = 5.12;  // world extent shown, metres

uint8_t role_colour(SimModel::Role role) {
  switch (role) {
    case SimModel::kGreen: return kGreen;
    case SimModel::kBlue: return kBlue;
    case SimModel::kRed: return kRed;
    default: return kNeutral;
  }
}

double segment_distance(double px, double pz, double ax, double az, double bx, double bz) {
  const double dx = bx - ax, dz = bz - az, len2 = dx * dx + dz * dz;
  const double t = len2 > 0 ? std::clamp(((px - ax) * dx + (pz - az) * dz) / len2, 0.0, 1.0) : 0.0;
  return std::hypot(px - ax - t * dx, pz - az - t * dz);
}

}  // namespace

Image render_frame(const SimModel& sim, const mjData* d, int size) {
  const mjModel* m = sim.model();
  Image img(size, size, kBackground);
  const double scale = size / (kHi - kLo);
  auto to_world = [&](int px, int py, double& x, double& z) {
    x = kLo + (px + 0.5) / scale;
    z = kHi - (py + 0.5) / scale;
  };
  for (int py = 0; py < size; ++py)
    for (int px = 0; px < size; ++px) {
      double x, z;
      to_world(px, py, x, z);
      const double gx = std::fmod(x + 10.0, 0.5), gz = std::fmod(z + 10.0, 0.5);
      if (gx < 1.0 / scale || gz < 1.0 / scale) img.at(px, py) = kGrid;
    }
  for (int g = 0; g < m->ngeom; ++g) {
    if (m->geom_rgba[4 * g + 3] == 0) continue;
    const mjtNum* c = d->geom_xpos + 3 * g;
    const mjtNum* R = d->geom_xmat + 9 * g;
    const mjtNum* s = m->geom_size + 3 * g;
    // Local axes projected onto the x–z plane (columns of R: world = R · local).
    const double ux = R[0], uz = R[6], wx = R[2], wz = R[8];
    const int type = m->geom_type[g];
    const bool disc = type == mjGEOM_CYLINDER && std::fabs(R[5]) > 0.5;  // a wheel seen side-on
    const double reach = type == mjGEOM_BOX ? std::hypot(s[0], s[2]) : s[0] + (type == mjGEOM_CAPSULE ? s[1] : 0) + 0.01 +
                                                                           (type == mjGEOM_CYLINDER && !disc ? s[1] : 0);
    const uint8_t colour = role_colour(sim.role(g));
    const int x0 = std::max(0, static_cast<int>((c[0] - reach - kLo) * scale)),
              x1 = std::min(size - 1, static_cast<int>((c[0] + reach - kLo) * scale) + 1);
    const int y0 = std::max(0, static_cast<int>((kHi - c[2] - reach) * scale)),
              y1 = std::min(size - 1, static_cast<int>((kHi - c[2] + reach) * scale) + 1);
    for (int py = y0; py <= y1; ++py)
      for (int px = x0; px <= x1; ++px) {
        double x, z;
        to_world(px, py, x, z);
        const double rx = x - c[0], rz = z - c[2];
        bool inside = false, edge = false;
        if (type == mjGEOM_SPHERE || disc) {
          const double r = std::hypot(rx, rz);
          inside = r <= s[0];
          // A wheel shows a spoke along its local x axis, so rotation is visible.
          if (disc && inside) {
            const double along = rx * ux + rz * uz, across = -rx * uz + rz * ux;
            edge = std::fabs(across) < 1.2 / scale && along > 0;
          }
        } else if (type == mjGEOM_CAPSULE || type == mjGEOM_CYLINDER) {
          inside = segment_distance(x, z, c[0] - s[1] * wx, c[2] - s[1] * wz, c[0] + s[1] * wx, c[2] + s[1] * wz) <= s[0];
        } else if (type == mjGEOM_BOX) {
          const double a = std::fabs(rx * ux + rz * uz) / std::hypot(ux, uz), b = std::fabs(rx * wx + rz * wz) / std::hypot(wx, wz);
          inside = a <= s[0] && b <= s[2];
        }
        if (inside) img.at(px, py) = edge ? static_cast<uint8_t>(kInk) : colour;
      }
  }
  return img;
}

}  // namespace engram
