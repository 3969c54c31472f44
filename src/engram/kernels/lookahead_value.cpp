#include "engram/kernels/lookahead_value.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "engram/core/error.h"
#include "engram/kernels/scaled_normalise.h"
#include "engram/kernels/softmax_read.h"
#include "engram/kernels/tile_math.h"

namespace engram {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

torch::Tensor composition(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& a, double eps) {
  const int64_t T = x.size(1);
  auto next = torch::cat({x.narrow(1, 1, T - 1), torch::zeros_like(x.narrow(1, 0, 1))}, 1);
  if (!gamma.defined()) return scaled_normalise(next, a, eps);
  auto g = gamma.view({gamma.size(0), 1});
  return scaled_normalise((1 - g) * next + g * x, a, eps);
}

// x as (b, t, h) rows of dh floats; the row one step later lies H rows on.
struct Shape {
  int64_t B, T, H, dh;
  int64_t row(int64_t b, int64_t t, int64_t h) const { return (b * T + t) * H + h; }
};

// m = (1 − γ) x[t + 1] + γ x[t] into m (dh floats)
ENGRAM_SIMD_CLONES
void mix_row(const Shape& s, const float* x, float g, int64_t t, int64_t i, float* m) {
  const float* xi = x + i * s.dh;
  if (t + 1 < s.T) {
    const float* xn = xi + s.H * s.dh;
    for (int64_t j = 0; j < s.dh; ++j) m[j] = (1 - g) * xn[j] + g * xi[j];
  } else {
    for (int64_t j = 0; j < s.dh; ++j) m[j] = g * xi[j];
  }
}

// rows of (b, h) pairs [begin, end): y = a·m/(‖m‖ + eps), ‖m‖ kept for the backward
ENGRAM_SIMD_CLONES
void forward_range(const Shape& s, const float* x, const float* gamma, const float* a, float eps, float* y,
                   float* norm, int64_t begin, int64_t end) {
  for (int64_t p = begin; p < end; ++p) {
    const int64_t b = p / s.H, h = p % s.H;
    const float g = gamma ? gamma[h] : 0.0f;
    for (int64_t t = 0; t < s.T; ++t) {
      const int64_t i = s.row(b, t, h);
      float* yi = y + i * s.dh;
      mix_row(s, x, g, t, i, yi);
      norm[i] = std::sqrt(tile::dot(yi, yi, s.dh));
      const float f = a[h] / (norm[i] + eps);
      for (int64_t j = 0; j < s.dh; ++j) yi[j] *= f;
    }
  }
}

// With n = ‖m‖, u = 1/(n + eps): ∂y/∂m = a (u I − u² m mᵀ / n), ∂y/∂a = u m; then through the mix,
// dx[t] = γ dm[t] + (1 − γ) dm[t − 1] and dγ = Σ dm[t]·(x[t] − x[t + 1]). One (b, h) pair walks t
// upwards, keeping dm[t − 1]. Its shares of dγ and da go to dg_pairs[p] and da_pairs[p].
ENGRAM_SIMD_CLONES
void backward_range(const Shape& s, const float* x, const float* gamma, const float* a, const float* norm,
                    const float* dy, float eps, float* dx, float* dg_pairs, float* da_pairs, int64_t begin,
                    int64_t end) {
  std::vector<float> m(s.dh), dm(s.dh), dm_prev(s.dh);
  for (int64_t p = begin; p < end; ++p) {
    const int64_t b = p / s.H, h = p % s.H;
    const float g = gamma ? gamma[h] : 0.0f;
    float da = 0, dg = 0;
    std::fill(dm_prev.begin(), dm_prev.end(), 0.0f);  // there is no m[−1]
    for (int64_t t = 0; t < s.T; ++t) {
      const int64_t i = s.row(b, t, h);
      const float *xi = x + i * s.dh, *gi = dy + i * s.dh;
      mix_row(s, x, g, t, i, m.data());
      const float mg = tile::dot(m.data(), gi, s.dh);
      const float n = norm[i], u = 1.0f / (n + eps);
      const float c = n > 0 ? u * u * mg / n : 0.0f;  // m = 0: ∂y/∂m = a u I
      for (int64_t j = 0; j < s.dh; ++j) dm[j] = a[h] * (u * gi[j] - c * m[j]);
      da += u * mg;
      dg += tile::dot(dm.data(), xi, s.dh);
      if (t + 1 < s.T) dg -= tile::dot(dm.data(), xi + s.H * s.dh, s.dh);  // x[T] = 0
      float* dxi = dx + i * s.dh;
      for (int64_t j = 0; j < s.dh; ++j) dxi[j] = g * dm[j] + (1 - g) * dm_prev[j];
      std::swap(dm, dm_prev);
    }
    da_pairs[p] = da;
    dg_pairs[p] = dg;
  }
}

struct LookaheadValue : public torch::autograd::Function<LookaheadValue> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& gamma,
                               const torch::Tensor& a, double eps) {
    const Shape s{x.size(0), x.size(1), x.size(2), x.size(3)};
    auto y = torch::empty_like(x);
    auto norm = torch::empty({s.B * s.T * s.H}, x.options());
    const float *xd = x.data_ptr<float>(), *gd = gamma.numel() > 0 ? gamma.data_ptr<float>() : nullptr;
    const float* ad = a.data_ptr<float>();
    float *yd = y.data_ptr<float>(), *nd = norm.data_ptr<float>();
    const float e = static_cast<float>(eps);
    at::parallel_for(0, s.B * s.H, 1,
                     [&](int64_t begin, int64_t end) { forward_range(s, xd, gd, ad, e, yd, nd, begin, end); });
    ctx->save_for_backward({x, gamma, a, norm});
    ctx->saved_data["eps"] = eps;
    return y;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &x = saved[0], &gamma = saved[1], &a = saved[2], &norm = saved[3];
    const float e = static_cast<float>(ctx->saved_data["eps"].toDouble());
    const auto dy = grads[0].contiguous();
    const Shape s{x.size(0), x.size(1), x.size(2), x.size(3)};
    auto dx = torch::empty_like(x);
    auto dg_pairs = torch::empty({s.B, s.H}, x.options()), da_pairs = torch::empty({s.B, s.H}, x.options());
    const float *xd = x.data_ptr<float>(), *gd = gamma.numel() > 0 ? gamma.data_ptr<float>() : nullptr;
    const float *ad = a.data_ptr<float>(), *nd = norm.data_ptr<float>(), *dyd = dy.data_ptr<float>();
    float *dxd = dx.data_ptr<float>(), *dgd = dg_pairs.data_ptr<float>(), *dad = da_pairs.data_ptr<float>();
    at::parallel_for(0, s.B * s.H, 1, [&](int64_t begin, int64_t end) {
      backward_range(s, xd, gd, ad, nd, dyd, e, dxd, dgd, dad, begin, end);
    });
    return {dx, gamma.numel() > 0 ? dg_pairs.sum(0) : torch::Tensor(), da_pairs.sum(0), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor lookahead_value(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& a, double eps) {
  if (x.dim() != 4 || x.size(1) == 0) throw Error("lookahead_value: expects x [B, T, H, dh] with T ≥ 1");
  const int64_t H = x.size(2);
  if (a.dim() != 1 || a.size(0) != H || (gamma.defined() && (gamma.dim() != 1 || gamma.size(0) != H)))
    throw Error("lookahead_value: gamma and a must be [H] with H = " + std::to_string(H));
  const auto on_cpu_float = [](const torch::Tensor& t) {
    return !t.defined() || (t.device().is_cpu() && t.scalar_type() == torch::kFloat);
  };
  const bool kernel = read_path() == ReadPath::kBlocked && on_cpu_float(x) && on_cpu_float(gamma) && on_cpu_float(a) &&
                      x.numel() > 0;
  if (!kernel) return composition(x, gamma, a, eps);
  // autograd functions take defined tensors only: no mix goes in as an empty γ
  const auto g = gamma.defined() ? gamma.contiguous() : torch::empty({0}, x.options());
  return LookaheadValue::apply(x.contiguous(), g, a.contiguous(), eps);
}

}  // namespace engram
