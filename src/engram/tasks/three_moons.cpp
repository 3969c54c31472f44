#include "engram/tasks/three_moons.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {

double joint_period(const MoonPeriods& periods) {
  int64_t l = 1;
  for (double p : periods) l = std::lcm(l, static_cast<int64_t>(std::llround(10 * p)));
  return static_cast<double>(l) / 10.0;
}

MoonSystems moon_systems() {
  std::vector<MoonPeriods> all;
  const std::vector<double> candidates{0.5, 1, 1.5, 2, 2.5, 3, 3.5};
  for (size_t i = 0; i < candidates.size(); ++i)
    for (size_t j = i + 1; j < candidates.size(); ++j)
      for (size_t k = j + 1; k < candidates.size(); ++k) all.push_back({candidates[i], candidates[j], candidates[k]});
  std::stable_sort(all.begin(), all.end(), [](const MoonPeriods& a, const MoonPeriods& b) { return joint_period(a) < joint_period(b); });
  const size_t kept = all.size() / 4 + 1;  // 9
  MoonSystems s;
  s.train.assign(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(kept - 1));
  s.held_out = all[kept - 1];
  return s;
}

torch::Tensor moon_observations(const MoonPeriods& periods, int64_t start, int64_t length) {
  auto t = torch::arange(start, start + length, torch::kFloat64);
  std::vector<torch::Tensor> columns;
  for (double p : periods) {
    auto theta = 2 * M_PI * t / (kMoonStepsPerUnit * p) + 0.3;
    columns.push_back(torch::sin(theta));
    columns.push_back(torch::cos(theta));
  }
  return torch::stack(columns, 1).to(torch::kFloat32);
}

torch::Tensor moon_batch(const std::vector<MoonPeriods>& systems, int64_t batch, int64_t length, std::mt19937_64& rng) {
  if (systems.empty()) throw Error("three moons: no systems to draw from");
  if (kMoonGrid - 2 * length - 1 < 1) throw Error("three moons: a window of " + std::to_string(length) + " steps does not fit the grid");
  std::uniform_int_distribution<size_t> system(0, systems.size() - 1);
  std::uniform_int_distribution<int64_t> offset(0, kMoonGrid - 2 * length - 2);
  std::vector<torch::Tensor> rows;
  for (int64_t b = 0; b < batch; ++b) {
    const auto& periods = systems[system(rng)];
    rows.push_back(moon_observations(periods, offset(rng), length + 1));
  }
  return torch::stack(rows);
}

}  // namespace engram
