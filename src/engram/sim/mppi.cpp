#include "engram/sim/mppi.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "engram/core/error.h"

namespace engram {

std::vector<ExpertStyle> expert_styles(const SimTask& task) {
  const auto vias = task.via_points();
  std::vector<ExpertStyle> styles;
  const int horizons[] = {25, 15};
  const double lambdas[] = {0.1, 0.05};
  for (int i = 0; i < 4; ++i) {
    ExpertStyle s;
    s.mppi.horizon = horizons[i / 2];
    s.mppi.lambda = lambdas[i % 2];
    std::string via = "direct";
    if (!vias.empty()) {
      s.mppi.via = i % static_cast<int>(vias.size());
      via = "via(" + std::to_string(vias[static_cast<size_t>(s.mppi.via)][0]).substr(0, 3) + "," +
            std::to_string(vias[static_cast<size_t>(s.mppi.via)][1]).substr(0, 3) + ")";
    }
    s.name = via + " h" + std::to_string(s.mppi.horizon) + " λ" + std::to_string(s.mppi.lambda).substr(0, 4);
    styles.push_back(s);
  }
  return styles;
}

MppiExpert::MppiExpert(std::shared_ptr<const SimModel> model, MppiConfig config)
    : model_(std::move(model)), config_(config), A_(model_->action_dim()) {
  if (config_.samples < 2 || config_.horizon < 1 || config_.knot_every < 1)
    throw Error("mppi: samples must be ≥ 2 and horizon, knot_every ≥ 1");
  const auto vias = model_->task().via_points();
  if (config_.via >= static_cast<int>(vias.size()))
    throw Error("mppi: task " + model_->task().name() + " has " + std::to_string(vias.size()) + " via points, not " +
                std::to_string(config_.via + 1));
  if (config_.via >= 0) {
    via_ = vias[static_cast<size_t>(config_.via)];
    has_via_ = true;
  }
  scratch_ = mj_makeData(model_->model());
  samples_.assign(static_cast<size_t>(config_.samples), std::vector<double>(static_cast<size_t>(config_.horizon * A_)));
  costs_.assign(static_cast<size_t>(config_.samples), 0.0);
  reset(0);
}

MppiExpert::~MppiExpert() { mj_deleteData(scratch_); }

void MppiExpert::reset(uint64_t seed) {
  rng_.seed(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull);
  plan_.assign(static_cast<size_t>(config_.horizon * A_), 0.0);
  const auto& b = model_->bounds();
  for (int t = 0; t < config_.horizon; ++t)
    for (int i = 0; i < A_; ++i) plan_[static_cast<size_t>(t * A_ + i)] = 0.5 * (b.low[i] + b.high[i]);
}

double MppiExpert::step_cost(const mjData* d) const {
  const auto& task = model_->task();
  const double cost = task.shaping_cost(model_->model(), d);
  const auto g = task.guide_point(model_->model(), d, model_->green_position(d));
  const auto b = model_->blue_position(d);
  if (has_via_ && g[0] < via_[0])  // the path through the via point: continuous when the body passes it
    return cost + std::hypot(g[0] - via_[0], g[1] - via_[1]) + std::hypot(via_[0] - b[0], via_[1] - b[1]);
  return cost + std::hypot(g[0] - b[0], g[1] - b[1]);
}

double MppiExpert::rollout(const mjData* state, const std::vector<double>& plan) {
  const mjModel* m = model_->model();
  mj_copyData(scratch_, m, state);
  const auto& b = model_->bounds();
  double cost = 0;
  for (int t = 0; t < config_.horizon; ++t) {
    const double* a = plan.data() + t * A_;
    const int outcome = model_->advance(scratch_, a);
    double effort = 0;
    for (int i = 0; i < A_; ++i) {
      const double centred = a[i] - 0.5 * (b.low[i] + b.high[i]);
      effort += centred * centred;
    }
    cost += step_cost(scratch_) + config_.control_cost * effort;
    if (outcome != 0) return cost + (outcome > 0 ? -100.0 : 100.0);
  }
  return cost;
}

std::vector<double> MppiExpert::act(const mjData* state) {
  const int H = config_.horizon, K = config_.samples;
  const auto& b = model_->bounds();
  std::normal_distribution<double> normal(0.0, config_.sigma);
  const int knots = (H - 1) / config_.knot_every + 2;
  std::vector<double> knot(static_cast<size_t>(knots * A_));
  for (int k = 0; k < K; ++k) {
    auto& u = samples_[static_cast<size_t>(k)];
    // Sample 0 is the current plan itself, so a good plan is never lost to unlucky noise.
    for (auto& v : knot) v = k == 0 ? 0.0 : normal(rng_);
    for (int t = 0; t < H; ++t) {
      const int j = t / config_.knot_every;
      const double f = static_cast<double>(t % config_.knot_every) / config_.knot_every;
      for (int i = 0; i < A_; ++i) {
        const double eps = (1 - f) * knot[static_cast<size_t>(j * A_ + i)] + f * knot[static_cast<size_t>((j + 1) * A_ + i)];
        u[static_cast<size_t>(t * A_ + i)] = std::clamp(plan_[static_cast<size_t>(t * A_ + i)] + eps, b.low[i], b.high[i]);
      }
    }
    costs_[static_cast<size_t>(k)] = rollout(state, u);
  }
  const auto [lo, hi] = std::minmax_element(costs_.begin(), costs_.end());
  const double lambda = std::max(config_.lambda * (*hi - *lo), 1e-9);
  std::vector<double> w(static_cast<size_t>(K));
  double total = 0;
  for (int k = 0; k < K; ++k) total += w[static_cast<size_t>(k)] = std::exp(-(costs_[static_cast<size_t>(k)] - *lo) / lambda);
  std::fill(plan_.begin(), plan_.end(), 0.0);
  for (int k = 0; k < K; ++k)
    for (size_t j = 0; j < plan_.size(); ++j) plan_[j] += w[static_cast<size_t>(k)] / total * samples_[static_cast<size_t>(k)][j];
  std::vector<double> action(plan_.begin(), plan_.begin() + A_);
  // Warm start: shift by one step and repeat the last action.
  std::rotate(plan_.begin(), plan_.begin() + A_, plan_.end());
  std::copy(plan_.end() - 2 * A_, plan_.end() - A_, plan_.end() - A_);
  return action;
}

}  // namespace engram
