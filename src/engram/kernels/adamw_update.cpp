#include "engram/kernels/adamw_update.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "engram/kernels/softmax_read.h"
#include "engram/kernels/tile_math.h"

namespace engram {
namespace {

void composition(torch::Tensor& p, const torch::Tensor& g, torch::Tensor& m, torch::Tensor& v, const AdamWUpdate& u) {
  if (u.weight_decay > 0) p.mul_(1 - u.lr * u.weight_decay);
  m.mul_(u.beta1).add_(g, 1 - u.beta1);
  v.mul_(u.beta2).addcmul_(g, g, 1 - u.beta2);
  auto denom = (v / u.bc2).sqrt_().add_(u.eps);
  p.addcdiv_(m, denom, -u.lr / u.bc1);
}

struct Coefficients {
  float decay, beta1, one_minus_beta1, beta2, one_minus_beta2, inv_bc2, eps, step;
};

ENGRAM_SIMD_CLONES
void update_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                  const Coefficients& c, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    m[i] = c.beta1 * m[i] + c.one_minus_beta1 * g[i];
    v[i] = c.beta2 * v[i] + c.one_minus_beta2 * g[i] * g[i];
    p[i] = p[i] * c.decay - c.step * m[i] / (std::sqrt(v[i] * c.inv_bc2) + c.eps);
  }
}

bool kernel_applies(const torch::Tensor& t, const torch::Tensor& param) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous() && t.sizes() == param.sizes();
}

}  // namespace

void adamw_update(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& exp_avg, torch::Tensor& exp_avg_sq,
                  const AdamWUpdate& u) {
  torch::NoGradGuard no_grad;
  // (tensors of other shapes go to the composition, which raises LibTorch's error)
  const bool kernel = read_path() == ReadPath::kBlocked && kernel_applies(param, param) && kernel_applies(grad, param) &&
                      kernel_applies(exp_avg, param) && kernel_applies(exp_avg_sq, param);
  if (!kernel) return composition(param, grad, exp_avg, exp_avg_sq, u);
  const auto f = [](double x) { return static_cast<float>(x); };
  const Coefficients c{f(1 - u.lr * u.weight_decay), f(u.beta1), f(1 - u.beta1), f(u.beta2), f(1 - u.beta2),
                       f(1 / u.bc2), f(u.eps), f(u.lr / u.bc1)};
  float *p = param.data_ptr<float>(), *m = exp_avg.data_ptr<float>(), *v = exp_avg_sq.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  at::parallel_for(0, param.numel(), 1 << 15,
                   [&](int64_t begin, int64_t end) { update_range(p, g, m, v, c, begin, end); });
  // as the in-place operations would: a graph that saved these tensors now refuses to run backward
  for (auto* t : {&param, &exp_avg, &exp_avg_sq}) torch::autograd::impl::bump_version(*t);
}

}  // namespace engram
