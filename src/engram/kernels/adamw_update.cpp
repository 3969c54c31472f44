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
  float decay, beta1, beta2, inv_bc2, eps, step;
};

ENGRAM_SIMD_CLONES
void update_range(float* __restrict p, const float* __restrict g, float* __restrict m, float* __restrict v,
                  const Coefficients& c, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    m[i] = c.beta1 * m[i] + (1 - c.beta1) * g[i];
    v[i] = c.beta2 * v[i] + (1 - c.beta2) * g[i] * g[i];
    p[i] = p[i] * c.decay - c.step * m[i] / (std::sqrt(v[i] * c.inv_bc2) + c.eps);
  }
}

bool kernel_applies(const torch::Tensor& t) {
  return t.device().is_cpu() && t.scalar_type() == torch::kFloat && t.is_contiguous();
}

}  // namespace

void adamw_update(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& exp_avg, torch::Tensor& exp_avg_sq,
                  const AdamWUpdate& u) {
  torch::NoGradGuard no_grad;
  const bool kernel = read_path() == ReadPath::kBlocked && kernel_applies(param) && kernel_applies(grad) &&
                      kernel_applies(exp_avg) && kernel_applies(exp_avg_sq);
  if (!kernel) return composition(param, grad, exp_avg, exp_avg_sq, u);
  const Coefficients c{static_cast<float>(1 - u.lr * u.weight_decay), static_cast<float>(u.beta1),
                       static_cast<float>(u.beta2), static_cast<float>(1 / u.bc2), static_cast<float>(u.eps),
                       static_cast<float>(u.lr / u.bc1)};
  float *p = param.data_ptr<float>(), *m = exp_avg.data_ptr<float>(), *v = exp_avg_sq.data_ptr<float>();
  const float* g = grad.data_ptr<float>();
  at::parallel_for(0, param.numel(), 1 << 15,
                   [&](int64_t begin, int64_t end) { update_range(p, g, m, v, c, begin, end); });
}

}  // namespace engram
