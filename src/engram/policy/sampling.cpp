#include "engram/policy/sampling.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {

namespace {

void check_chunk(const FlowPolicy& policy, const torch::Tensor& noise, const char* what) {
  if (noise.dim() != 3 || noise.size(1) != policy.horizon() || noise.size(2) != policy.action_dim())
    throw Error(std::string("sampling: ") + what + " has shape " + c10::str(noise.sizes()) + ", expected [B, " +
                std::to_string(policy.horizon()) + ", " + std::to_string(policy.action_dim()) + "]");
}

}  // namespace

torch::Tensor sample_chunk(FlowPolicy& policy, const torch::Tensor& obs, const torch::Tensor& noise, int steps) {
  check_chunk(policy, noise, "noise");
  if (steps < 1) throw Error("sampling: need ≥ 1 Euler step");
  const double dt = 1.0 / steps;
  auto a = noise;
  for (int k = 0; k < steps; ++k) {
    const auto tau = torch::full({noise.size(0)}, k * dt, noise.options());
    a = a + dt * policy.velocity(a, obs, tau);
  }
  return a;
}

const Names<MaskSchedule>& names_of(MaskSchedule) {
  static const Names<MaskSchedule> names = {
      {"exp", MaskSchedule::kExp}, {"linear", MaskSchedule::kLinear}, {"zeros", MaskSchedule::kZeros}, {"ones", MaskSchedule::kOnes}};
  return names;
}

std::vector<double> rtc_mask(int H, int d, int s, MaskSchedule schedule) {
  if (d < 0 || s < 1 || s > H || d > H - s)
    throw Error("rtc: need 0 ≤ d ≤ H − s and 1 ≤ s ≤ H (got H = " + std::to_string(H) + ", d = " + std::to_string(d) +
                ", s = " + std::to_string(s) + ")");
  const int end = H - s, start = std::min(d, end);
  std::vector<double> w(static_cast<size_t>(H), 0.0);
  for (int i = 0; i < end; ++i) {
    const double ramp = std::clamp(static_cast<double>(end - i) / (end - start + 1), 0.0, 1.0);
    double v = 0;
    switch (schedule) {
      case MaskSchedule::kExp: v = ramp * std::expm1(ramp) / std::expm1(1.0); break;
      case MaskSchedule::kLinear: v = ramp; break;
      case MaskSchedule::kZeros: v = i < d ? 1.0 : 0.0; break;
      case MaskSchedule::kOnes: v = 1.0; break;
    }
    w[static_cast<size_t>(i)] = v;
  }
  return w;
}

double guidance_weight(double tau, double beta) {
  if (tau <= 0) return beta;
  return std::min(beta, (tau * tau + (1 - tau) * (1 - tau)) / (tau * (1 - tau)));
}

torch::Tensor rtc_sample_chunk(FlowPolicy& policy, const torch::Tensor& obs, const torch::Tensor& noise,
                               const torch::Tensor& previous, int delay, int shift, const RtcOptions& o) {
  check_chunk(policy, noise, "noise");
  const int64_t H = policy.horizon(), B = noise.size(0), M = policy.action_dim();
  const auto weights = torch::tensor(rtc_mask(static_cast<int>(H), delay, shift, o.schedule), noise.options());
  if (previous.dim() != 3 || previous.size(0) != B || previous.size(1) != H - shift || previous.size(2) != M)
    throw Error("rtc: previous chunk has shape " + c10::str(previous.sizes()) + ", expected [" + std::to_string(B) + ", " +
                std::to_string(H - shift) + ", " + std::to_string(M) + "] (the H − s actions not yet executed)");
  // Y: the old plan aligned to the new chunk, right-padded with zeros (finite: 0·NaN would be NaN).
  const auto target = torch::cat({previous.to(noise.dtype()), torch::zeros({B, shift, M}, noise.options())}, 1);
  const double dt = 1.0 / o.steps;
  auto a = noise;
  for (int k = 0; k < o.steps; ++k) {
    const double tau = k * dt;
    auto [v, g] = policy.guided_velocity(a, obs, tau, target, weights);
    a = a.detach() + dt * (v + guidance_weight(tau, o.beta) * g);
  }
  return a;
}

}  // namespace engram
