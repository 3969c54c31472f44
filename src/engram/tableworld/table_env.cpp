#include "engram/tableworld/table_env.h"

#include <algorithm>
#include <cmath>

#include "engram/core/error.h"

namespace engram::tableworld {

TableEnv::TableEnv(Split split) : split_(split) {}

std::vector<double> TableEnv::reset(uint64_t seed) {
  scene_ = sample_scene(seed, split_);
  p_[0] = scene_.start_x;
  p_[1] = scene_.start_y;
  v_[0] = v_[1] = 0;
  std::fill(executed_.begin(), executed_.end(), 0.0);
  steps_ = 0;
  committed_ = -1;
  done_ = false;
  return observe();
}

double TableEnv::speed() const { return std::hypot(v_[0], v_[1]); }

int TableEnv::nearest_object() const {
  int best = 0;
  double best_d = 1e300;
  for (int k = 0; k < kObjects; ++k) {
    const auto& o = scene_.objects[static_cast<size_t>(k)];
    const double d = std::hypot(o.x - p_[0], o.y - p_[1]);
    if (d < best_d) best = k, best_d = d;
  }
  return best;
}

StepResult TableEnv::step(const std::vector<double>& action) {
  if (done_) throw Error("env tableworld: step() after the episode ended; call reset() first");
  if (action.size() != 3)
    throw Error("env tableworld: action has " + std::to_string(action.size()) + " dimensions, the task takes 3");
  for (size_t i = 0; i < action.size(); ++i)
    if (!std::isfinite(action[i]))
      throw Error("env tableworld: action[" + std::to_string(i) + "] is not finite at step " + std::to_string(steps_));
  for (size_t i = 0; i < 3; ++i) executed_[i] = std::clamp(action[i], -1.0, 1.0);
  for (int i = 0; i < 2; ++i) {
    v_[i] += 0.5 * (0.6 * executed_[static_cast<size_t>(i)] - v_[i]);
    p_[i] = std::clamp(p_[i] + 0.05 * v_[i], -1.0, 1.0);
  }
  ++steps_;
  const bool closed = executed_[2] > 0;
  const int nearest = nearest_object();
  const auto& n = scene_.objects[static_cast<size_t>(nearest)];
  const double distance = std::hypot(n.x - p_[0], n.y - p_[1]);
  if (committed_ < 0 && (closed || distance < 0.15)) committed_ = nearest;
  StepResult r;
  r.success = closed && nearest == scene_.target && distance < 0.07 && speed() < 0.15;
  r.reward = r.success ? 1 : closed ? -1 : 0;
  r.done = closed || steps_ >= kMaxSteps;
  done_ = r.done;
  return r;
}

std::vector<double> TableEnv::observe() const { return observation(scene_, p_[0], p_[1], v_[0], v_[1]); }

Image TableEnv::render(int size) const {
  static constexpr uint8_t kColour[] = {kRed, kGreen, kBlue, kYellow, kPurple, kOrange, kWhite, kBlack};
  Image img(size, size, kTable);
  const double scale = size / 2.0;  // pixels per table unit
  auto to_table = [&](int px, int py, double& x, double& y) {
    x = -1.0 + (px + 0.5) / scale;
    y = 1.0 - (py + 0.5) / scale;
  };
  for (int py = 0; py < size; ++py)
    for (int px = 0; px < size; ++px) {
      double x, y;
      to_table(px, py, x, y);
      if (std::fabs(std::fmod(x + 10.0, 0.5) - 0.25) > 0.25 - 1.0 / scale ||
          std::fabs(std::fmod(y + 10.0, 0.5) - 0.25) > 0.25 - 1.0 / scale)
        img.at(px, py) = kGrid;
      for (int k = 0; k < kObjects; ++k) {
        const auto& o = scene_.objects[static_cast<size_t>(k)];
        const double dx = x - o.x, dy = y - o.y, r = std::hypot(dx, dy), s = 0.07;
        bool inside = false;
        switch (o.shape) {
          case 0: inside = std::fabs(dx) <= s && std::fabs(dy) <= s; break;               // cube
          case 1: inside = r <= s; break;                                                     // ball
          case 2: inside = dy >= -s && dy <= s && std::fabs(dx) <= (s - dy) * 0.6; break;   // cone
          default: inside = r <= s && r >= 0.55 * s; break;                                  // ring
        }
        // The target gets a dark outline, so a frame shows what the instruction asks for.
        if (inside) img.at(px, py) = kColour[o.colour];
        else if (k == scene_.target && r > s + 0.015 && r <= s + 0.03) img.at(px, py) = kShadow;
      }
      const double ax = x - p_[0], ay = y - p_[1];
      const double ar = std::hypot(ax, ay);
      if (ar <= 0.04) img.at(px, py) = executed_[2] > 0 ? static_cast<uint8_t>(kGreen) : static_cast<uint8_t>(kInk);
    }
  return img;
}

}  // namespace engram::tableworld
