#include "engram/train/adamw.h"

#include <cmath>
#include <map>

#include "engram/core/error.h"
#include "engram/kernels/adamw_update.h"

namespace engram {

AdamW::AdamW(const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters, const AdamWConfig& config,
             const std::vector<double>& lr_scale)
    : config_(config) {
  if (!lr_scale.empty() && lr_scale.size() != named_parameters.size())
    throw Error("AdamW: " + std::to_string(lr_scale.size()) + " learning-rate factors for " + std::to_string(named_parameters.size()) +
                " parameters");
  for (size_t i = 0; i < named_parameters.size(); ++i) {
    const auto& [name, p] = named_parameters[i];
    if (!p.requires_grad()) continue;
    slots_.push_back({name, p, torch::zeros_like(p), torch::zeros_like(p), config.decay_all || p.dim() >= 2,
                      lr_scale.empty() ? 1.0 : lr_scale[i]});
  }
}

void AdamW::zero_grad() {
  for (auto& s : slots_)
    if (s.param.grad().defined()) s.param.mutable_grad().zero_();
}

void AdamW::step(double lr) {
  ++step_;
  const double bc1 = 1 - std::pow(config_.beta1, step_), bc2 = 1 - std::pow(config_.beta2, step_);
  for (auto& s : slots_) {
    const auto& g = s.param.grad();
    if (!g.defined()) continue;
    const double lr_s = lr * s.lr_scale;
    adamw_update(s.param, g, s.exp_avg, s.exp_avg_sq,
                 {lr_s, s.decay ? config_.weight_decay : 0.0, config_.beta1, config_.beta2, config_.eps, bc1, bc2});
  }
}

std::vector<std::pair<std::string, torch::Tensor>> AdamW::state() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  out.emplace_back("step", torch::tensor({step_}, torch::kLong));
  for (const auto& s : slots_) {
    out.emplace_back("exp_avg." + s.name, s.exp_avg);
    out.emplace_back("exp_avg_sq." + s.name, s.exp_avg_sq);
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state, const std::string& where) {
  std::map<std::string, torch::Tensor> byname(state.begin(), state.end());
  auto get = [&](const std::string& name, const torch::Tensor& like) {
    auto it = byname.find(name);
    if (it == byname.end()) throw Error(where + ": optimizer state lacks '" + name + "'");
    if (it->second.sizes() != like.sizes())
      throw Error(where + ": optimizer tensor '" + name + "' has shape " + c10::str(it->second.sizes()) +
                  ", expected " + c10::str(like.sizes()));
    return it->second;
  };
  torch::NoGradGuard no_grad;
  step_ = get("step", torch::zeros({1})).item<int64_t>();
  for (auto& s : slots_) {
    s.exp_avg.copy_(get("exp_avg." + s.name, s.exp_avg));
    s.exp_avg_sq.copy_(get("exp_avg_sq." + s.name, s.exp_avg_sq));
  }
}

double clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm) {
  torch::NoGradGuard no_grad;
  double sq = 0;
  for (const auto& p : parameters)
    if (p.grad().defined()) sq += std::pow(p.grad().norm().item<double>(), 2);  // one pass, no temporary
  const double norm = std::sqrt(sq);
  if (max_norm > 0 && norm > max_norm) {
    const double scale = max_norm / (norm + 1e-6);
    for (const auto& p : parameters)
      if (p.grad().defined()) p.grad().mul_(scale);
  }
  return norm;
}

double cosine_lr(int64_t step, int64_t warmup, int64_t total, double lr, double min_lr) {
  if (step < warmup) return lr * static_cast<double>(step + 1) / static_cast<double>(warmup);
  if (step >= total) return min_lr;
  const double progress = static_cast<double>(step - warmup) / std::max<int64_t>(1, total - warmup);
  return min_lr + 0.5 * (lr - min_lr) * (1 + std::cos(M_PI * progress));
}

}  // namespace engram
