#include "engram/seq/leaky_average.h"

#include <ATen/Parallel.h>

namespace engram {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Runs y_t = x_t + λ y_{t−1} forward (reverse = false) or y_t = x_t + λ y_{t+1} backward in time,
// for every (b, h, d) column of a contiguous [B, T, H, D] tensor.
template <typename scalar_t>
void scan(const scalar_t* x, const scalar_t* lambda, scalar_t* y, int64_t B, int64_t T, int64_t H, int64_t D,
          bool reverse) {
  const int64_t columns = B * H;
  at::parallel_for(0, columns, 1, [&](int64_t begin, int64_t end) {
    for (int64_t bh = begin; bh < end; ++bh) {
      const int64_t b = bh / H, h = bh % H;
      const scalar_t l = lambda[h];
      const int64_t stride = H * D;
      const int64_t base = b * T * stride + h * D;
      for (int64_t i = 0; i < T; ++i) {
        const int64_t t = reverse ? T - 1 - i : i;
        const scalar_t* xt = x + base + t * stride;
        scalar_t* yt = y + base + t * stride;
        if (i == 0) {
          for (int64_t d = 0; d < D; ++d) yt[d] = xt[d];
        } else {
          const scalar_t* prev = y + base + (reverse ? t + 1 : t - 1) * stride;
          for (int64_t d = 0; d < D; ++d) yt[d] = xt[d] + l * prev[d];
        }
      }
    }
  });
}

torch::Tensor run_scan(const torch::Tensor& x, const torch::Tensor& lambda, bool reverse) {
  auto xc = x.contiguous();
  auto lc = lambda.to(x.scalar_type()).contiguous();
  auto y = torch::empty_like(xc);
  AT_DISPATCH_FLOATING_TYPES(xc.scalar_type(), "leaky_average_scan", [&] {
    scan<scalar_t>(xc.data_ptr<scalar_t>(), lc.data_ptr<scalar_t>(), y.data_ptr<scalar_t>(), xc.size(0), xc.size(1),
                   xc.size(2), xc.size(3), reverse);
  });
  return y;
}

struct LeakyAverageScan : public torch::autograd::Function<LeakyAverageScan> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& lambda) {
    auto y = run_scan(x, lambda, false);
    ctx->save_for_backward({y, lambda});
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    auto saved = ctx->get_saved_variables();
    const auto& y = saved[0];
    const auto& lambda = saved[1];
    // g_t = ∂L/∂y_t + λ g_{t+1}: the same recurrence run backwards in time.
    auto g = run_scan(grads[0], lambda, true);
    // ∂L/∂λ = Σ_{b,t,d} g_t · y_{t−1}
    const int64_t T = y.size(1);
    torch::Tensor grad_lambda;
    if (T > 1) {
      grad_lambda = (g.narrow(1, 1, T - 1) * y.narrow(1, 0, T - 1)).sum({0, 1, 3}).to(lambda.scalar_type());
    } else {
      grad_lambda = torch::zeros_like(lambda);
    }
    return {g, grad_lambda};
  }
};

}  // namespace

torch::Tensor leaky_average_scan(const torch::Tensor& x, const torch::Tensor& lambda) {
  if (!x.device().is_cpu() || !(x.scalar_type() == torch::kFloat || x.scalar_type() == torch::kDouble))
    return leaky_average_matrix(x, lambda);
  return LeakyAverageScan::apply(x, lambda);
}

torch::Tensor leaky_average_matrix(const torch::Tensor& x, const torch::Tensor& lambda) {
  const int64_t T = x.size(1);
  auto opts = x.options();
  auto t = torch::arange(T, opts);
  auto lag = (t.unsqueeze(1) - t.unsqueeze(0));                              // [T, T]: t − s
  auto causal = lag.ge(0);
  // λ^{lag} = exp(lag · log λ), masked above the diagonal.
  auto decay = torch::exp(lag.clamp_min(0).unsqueeze(0) * torch::log(lambda.to(x.scalar_type())).view({-1, 1, 1}));
  decay = decay * causal.unsqueeze(0).to(x.scalar_type());                   // [H, T, T]
  // y[b,t,h,d] = Σ_s decay[h,t,s] x[b,s,h,d]
  return torch::einsum("hts,bshd->bthd", {decay, x});
}

}  // namespace engram
