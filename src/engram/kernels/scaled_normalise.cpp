#include "engram/kernels/scaled_normalise.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "engram/core/error.h"
#include "engram/kernels/softmax_read.h"
#include "engram/kernels/tile_math.h"

namespace engram {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

torch::Tensor composition(const torch::Tensor& x, const torch::Tensor& s, double eps) {
  return s.view({s.size(0), 1}) * x / (x.norm(2, -1, true) + eps);
}

// Rows of dh floats; row i belongs to head i mod H.
struct Rows {
  int64_t count, H, dh;
};

Rows rows_of(const torch::Tensor& x) {
  const int64_t dh = x.size(-1), H = x.size(-2);
  return {x.numel() / std::max<int64_t>(dh, 1), H, dh};
}

// rows [begin, end): y = s·x/(n + eps), n = ‖x‖ kept for the backward
ENGRAM_SIMD_CLONES
void forward_range(const Rows& r, const float* x, const float* s, float eps, float* y, float* norm, int64_t begin,
                   int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float* xi = x + i * r.dh;
    norm[i] = std::sqrt(tile::dot(xi, xi, r.dh));
    const float f = s[i % r.H] / (norm[i] + eps);
    for (int64_t j = 0; j < r.dh; ++j) y[i * r.dh + j] = f * xi[j];
  }
}

// With n = ‖x‖ and u = 1/(n + eps): ∂y/∂x = s (u I − u² x xᵀ / n), ∂y/∂s = u x. Each row's share
// of ds goes to ds_rows[i].
ENGRAM_SIMD_CLONES
void backward_range(const Rows& r, const float* x, const float* s, const float* norm, const float* dy, float eps,
                    float* dx, float* ds_rows, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float *xi = x + i * r.dh, *gi = dy + i * r.dh;
    const float xg = tile::dot(xi, gi, r.dh);
    const float n = norm[i], u = 1.0f / (n + eps), sh = s[i % r.H];
    const float c = n > 0 ? u * u * xg / n : 0.0f;  // x = 0: ∂y/∂x = s u I
    for (int64_t j = 0; j < r.dh; ++j) dx[i * r.dh + j] = sh * (u * gi[j] - c * xi[j]);
    ds_rows[i] = u * xg;
  }
}

struct ScaledNormalise : public torch::autograd::Function<ScaledNormalise> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& s, double eps) {
    const Rows r = rows_of(x);
    auto y = torch::empty_like(x);
    auto norm = torch::empty({r.count}, x.options());
    const float *xd = x.data_ptr<float>(), *sd = s.data_ptr<float>();
    float *yd = y.data_ptr<float>(), *nd = norm.data_ptr<float>();
    const float e = static_cast<float>(eps);
    at::parallel_for(0, r.count, 256, [&](int64_t begin, int64_t end) { forward_range(r, xd, sd, e, yd, nd, begin, end); });
    ctx->save_for_backward({x, s, norm});
    ctx->saved_data["eps"] = eps;
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &s = saved[1], &norm = saved[2];
    const float e = static_cast<float>(ctx->saved_data["eps"].toDouble());
    const auto dy = grads[0].contiguous();
    const Rows r = rows_of(x);
    auto dx = torch::empty_like(x);
    auto ds_rows = torch::empty({r.count}, x.options());
    const float *xd = x.data_ptr<float>(), *sd = s.data_ptr<float>(), *nd = norm.data_ptr<float>();
    const float* gd = dy.data_ptr<float>();
    float *dxd = dx.data_ptr<float>(), *dsd = ds_rows.data_ptr<float>();
    at::parallel_for(0, r.count, 256,
                     [&](int64_t begin, int64_t end) { backward_range(r, xd, sd, nd, gd, e, dxd, dsd, begin, end); });
    return {dx, ds_rows.view({-1, r.H}).sum(0), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor scaled_normalise(const torch::Tensor& x, const torch::Tensor& s, double eps) {
  if (x.dim() < 2 || s.dim() != 1 || s.size(0) != x.size(-2))
    throw Error("scaled_normalise: expects x [..., H, dh] and s [H]");
  const bool kernel = read_path() == ReadPath::kBlocked && x.device().is_cpu() && s.device().is_cpu() &&
                      x.scalar_type() == torch::kFloat && s.scalar_type() == torch::kFloat && x.numel() > 0;
  if (!kernel) return composition(x, s, eps);
  return ScaledNormalise::apply(x.contiguous(), s.contiguous(), eps);
}

}  // namespace engram
