// MixerPolicy::velocity operation for operation on padded float buffers, and its reverse. Shapes
// of one sample: the activations x, u (modulated LayerNorm) and y are [H, C]; the token MLP works
// on [token_hidden, C] (it mixes along H: a left product), the channel MLP on [H, channel_hidden]
// (a right product). Rows are padded to multiples of 4 and columns to multiples of 16 for the tile
// product; padding stays zero, and only real rows and columns are ever read back.
#include "engram/runtime/mixer_velocity.h"

#include <cmath>

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/kernels/tile_math.h"
#include "engram/runtime/ops.h"
#include "engram/runtime/weights.h"

namespace engram {
namespace {

using tile::round_up;
constexpr float kNormEps = 1e-6f;  // MixerPolicy's LayerNorm

// m [R, C] zero-padded to [round_up(R, rm), round_up(C, cm)]; returns the leading dimension.
int64_t padded(const torch::Tensor& m, int64_t rm, int64_t cm, std::vector<float>& out) {
  const auto c = m.detach().to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t R = c.size(0), C = c.size(1), ld = round_up(C, cm);
  out.assign(static_cast<size_t>(round_up(R, rm) * ld), 0.0f);
  const float* src = c.data_ptr<float>();
  for (int64_t r = 0; r < R; ++r) std::copy_n(src + r * C, C, out.data() + r * ld);
  return ld;
}

ENGRAM_SIMD_CLONES
void gemm(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) std::fill_n(C + i * ldc, N, 0.0f);
  tile::gemm_acc<tile::vec8>(M, N, K, A, lda, B, ldb, C, ldc);
}

float silu(float a) { return a / (1.0f + std::exp(-a)); }

using tile::load8;
using tile::store8;
using tile::vec8;

// Σ x[i], eight lanes at a time.
ENGRAM_TILE_INLINE float sum(const float* x, int64_t n) {
  vec8 acc = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) acc += load8(x + i);
  float s = tile::hsum(acc);
  for (; i < n; ++i) s += x[i];
  return s;
}

// Rows r < rows of x [*, ld]: x̂ = LayerNorm(x) (no affine), u = x̂ (1 + scale) + shift; keeps x̂
// and 1/σ for the backward.
ENGRAM_SIMD_CLONES
void modulated_norm(const float* x, int64_t rows, int64_t n, int64_t ld, const float* scale, const float* shift,
                    float* xhat, float* rstd, float* u) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    const float mean = sum(xr, n) / static_cast<float>(n);
    vec8 acc = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const vec8 d = load8(xr + i) - mean;
      acc += d * d;
    }
    float var = tile::hsum(acc);
    for (; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    const float inv = 1.0f / std::sqrt(var / static_cast<float>(n) + kNormEps);
    rstd[r] = inv;
    float *xh = xhat + r * ld, *ur = u + r * ld;
    for (i = 0; i + 8 <= n; i += 8) {
      const vec8 h = (load8(xr + i) - mean) * inv;
      store8(xh + i, h);
      store8(ur + i, h * (1.0f + load8(scale + i)) + load8(shift + i));
    }
    for (; i < n; ++i) {
      xh[i] = (xr[i] - mean) * inv;
      ur[i] = xh[i] * (1.0f + scale[i]) + shift[i];
    }
  }
}

// dx += ∂/∂x of the modulated LayerNorm, given du; `d` is scratch of n floats.
ENGRAM_SIMD_CLONES
void modulated_norm_backward(const float* du, const float* xhat, const float* rstd, const float* scale, int64_t rows,
                             int64_t n, int64_t ld, float* d, float* dx) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *dur = du + r * ld, *xr = xhat + r * ld;
    vec8 acc_d = {}, acc_dx = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      const vec8 g = load8(dur + i) * (1.0f + load8(scale + i));
      store8(d + i, g);
      acc_d += g;
      acc_dx += g * load8(xr + i);
    }
    float sum_d = tile::hsum(acc_d), sum_dx = tile::hsum(acc_dx);
    for (; i < n; ++i) {
      d[i] = dur[i] * (1.0f + scale[i]);
      sum_d += d[i];
      sum_dx += d[i] * xr[i];
    }
    const float mean_d = sum_d / static_cast<float>(n), mean_dx = sum_dx / static_cast<float>(n);
    float* dxr = dx + r * ld;
    for (i = 0; i + 8 <= n; i += 8)
      store8(dxr + i, load8(dxr + i) + rstd[r] * (load8(d + i) - mean_d - load8(xr + i) * mean_dx));
    for (; i < n; ++i) dxr[i] += rstd[r] * (d[i] - mean_d - xr[i] * mean_dx);
  }
}

}  // namespace

MixerVelocity::MixerVelocity(MixerPolicy& policy) : c_(policy.config()) {
  const auto params = policy.named_parameters(), buffers = policy.named_buffers();
  auto param = [&](const std::string& name) {
    if (const auto* t = params.find(name)) return *t;
    throw Error("mixer runtime: the policy has no parameter '" + name + "'");
  };
  auto buffer = [&](const std::string& name) {
    if (const auto* t = buffers.find(name)) return *t;
    throw Error("mixer runtime: the policy has no buffer '" + name + "'");
  };
  const int64_t C = c_.channels, H = c_.horizon;
  Hp_ = round_up(H, tile::kRows);
  Cp_ = round_up(C, tile::kCols);
  Tp_ = round_up(c_.token_hidden, tile::kRows);
  Fp_ = round_up(c_.channel_hidden, tile::kCols);
  Ip_ = round_up(c_.action_dim + c_.obs_dim, tile::kCols);
  Mp_ = round_up(c_.action_dim, tile::kCols);
  periods_ = pack(buffer("periods"));
  obs_mean_ = pack(buffer("obs_mean"));
  obs_std_ = pack(buffer("obs_std"));
  time1_w_ = pack(param("time1.weight")), time1_b_ = pack(param("time1.bias"));
  time2_w_ = pack(param("time2.weight")), time2_b_ = pack(param("time2.bias"));

  // A right product y = x Wᵀ reads Wᵀ [in, out]; its VJP reads W [out, in]: columns padded to 16.
  auto right = [&](const std::string& name) {
    Matrix m;
    const auto w = param(name);
    m.ld_w = padded(w, 1, tile::kCols, m.w);
    m.ld_wt = padded(w.t(), 1, tile::kCols, m.wt);
    return m;
  };
  // A left product Y = W X reads W as the left operand, its VJP Wᵀ: rows padded to 4.
  auto left = [&](const std::string& name) {
    Matrix m;
    const auto w = param(name);
    m.ld_w = padded(w, tile::kRows, 1, m.w);
    m.ld_wt = padded(w.t(), tile::kRows, 1, m.wt);
    return m;
  };
  input_ = right("input.weight"), input_b_ = pack(param("input.bias"));
  output_ = right("output.weight"), output_b_ = pack(param("output.bias"));
  std::vector<torch::Tensor> ada_w, ada_b;
  for (int64_t b = 0; b < c_.blocks; ++b) {
    const std::string p = "block" + std::to_string(b) + "_";
    blocks_.push_back({left(p + "token_in.weight"), left(p + "token_out.weight"), right(p + "channel_in.weight"),
                       right(p + "channel_out.weight")});
    for (const char* ada : {"ada_token", "ada_channel"}) {
      ada_w.push_back(param(p + ada + ".weight"));
      ada_b.push_back(param(p + ada + ".bias"));
    }
  }
  ada_w.push_back(param("ada_final.weight"));
  ada_b.push_back(param("ada_final.bias"));
  ada_w_ = pack(torch::cat(ada_w, 0));
  ada_b_ = pack(torch::cat(ada_b, 0));

  const auto n = [](int64_t count) { return std::vector<float>(static_cast<size_t>(count), 0.0f); };
  in_ = n(Hp_ * Ip_), x_ = n(Hp_ * Cp_), u_ = n(Hp_ * Cp_), y_ = n(Hp_ * Cp_);
  hidden_ = n(std::max(Tp_ * Cp_, Hp_ * Fp_)), dhidden_ = hidden_;
  dx_ = n(Hp_ * Cp_), du_ = n(Hp_ * Cp_), dy_ = n(Hp_ * std::max(Cp_, std::max(Mp_, Ip_)));
  row_ = n(C), time_a_ = n(C), time_b_ = n(C);
  saved_.xhat = n(2 * c_.blocks * Hp_ * Cp_), saved_.rstd = n(2 * c_.blocks * Hp_);
  saved_.token_pre = n(c_.blocks * Tp_ * Cp_), saved_.channel_pre = n(c_.blocks * Hp_ * Fp_);
  saved_.final_xhat = n(Hp_ * Cp_), saved_.final_rstd = n(Hp_);
}

const std::vector<float>& MixerVelocity::conditioning(float tau) {
  if (auto it = conditioning_.find(tau); it != conditioning_.end()) return it->second;
  if (conditioning_.size() >= 256) conditioning_.clear();  // a sampler uses a handful of τ; bound the rest
  const int64_t C = c_.channels, half = C / 2;
  // As MixerPolicy::time_embedding computes it in float: (2π·τ) / p_j, sines then cosines.
  const float two_pi_tau = static_cast<float>(2.0 * M_PI) * tau;
  for (int64_t j = 0; j < half; ++j) {
    const float angle = two_pi_tau / periods_[static_cast<size_t>(j)];
    time_a_[static_cast<size_t>(j)] = std::sin(angle);
    time_a_[static_cast<size_t>(half + j)] = std::cos(angle);
  }
  auto dense_silu = [C](const std::vector<float>& W, const std::vector<float>& b, const std::vector<float>& x,
                        std::vector<float>& y) {
    for (int64_t o = 0; o < C; ++o) {
      float s = 0;
      for (int64_t i = 0; i < C; ++i) s += W[static_cast<size_t>(o * C + i)] * x[static_cast<size_t>(i)];
      y[static_cast<size_t>(o)] = silu(s + b[static_cast<size_t>(o)]);
    }
  };
  dense_silu(time1_w_, time1_b_, time_a_, time_b_);
  dense_silu(time2_w_, time2_b_, time_b_, time_a_);  // time_a_ now holds the embedding e
  std::vector<float>& out = conditioning_[tau];
  const int64_t rows = static_cast<int64_t>(ada_b_.size());
  out.resize(static_cast<size_t>(rows));
  for (int64_t o = 0; o < rows; ++o) {
    float s = 0;
    for (int64_t i = 0; i < C; ++i) s += ada_w_[static_cast<size_t>(o * C + i)] * time_a_[static_cast<size_t>(i)];
    out[static_cast<size_t>(o)] = s + ada_b_[static_cast<size_t>(o)];
  }
  return out;
}

void MixerVelocity::forward(const float* chunk, const float* obs, float tau, float* v) {
  const int64_t H = c_.horizon, C = c_.channels, M = c_.action_dim, Do = c_.obs_dim, I = M + Do;
  const int64_t Th = c_.token_hidden, F = c_.channel_hidden;
  cond_ = &conditioning(tau);
  const float* mod = cond_->data();
  for (int64_t h = 0; h < H; ++h) {
    float* row = in_.data() + h * Ip_;
    std::copy_n(chunk + h * M, M, row);
    for (int64_t i = 0; i < Do; ++i) row[M + i] = (obs[i] - obs_mean_[static_cast<size_t>(i)]) / obs_std_[static_cast<size_t>(i)];
  }
  float* x = x_.data();
  gemm(Hp_, Cp_, I, in_.data(), Ip_, input_.wt.data(), input_.ld_wt, x, Cp_);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t c = 0; c < C; ++c) x[h * Cp_ + c] += input_b_[static_cast<size_t>(c)];

  for (int64_t b = 0; b < c_.blocks; ++b, mod += 6 * C) {
    const Block& blk = blocks_[static_cast<size_t>(b)];
    float* xhat = saved_.xhat.data() + 2 * b * Hp_ * Cp_;
    float* rstd = saved_.rstd.data() + 2 * b * Hp_;
    // token mixing: y = W_out GELU(W_in u), along H
    modulated_norm(x, H, C, Cp_, mod, mod + C, xhat, rstd, u_.data());
    float* pre = saved_.token_pre.data() + b * Tp_ * Cp_;
    gemm(Tp_, Cp_, H, blk.token_in.w.data(), blk.token_in.ld_w, u_.data(), Cp_, pre, Cp_);
    ops::gelu_tanh(pre, hidden_.data(), Th * Cp_);
    gemm(Hp_, Cp_, Th, blk.token_out.w.data(), blk.token_out.ld_w, hidden_.data(), Cp_, y_.data(), Cp_);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t c = 0; c < C; ++c) x[h * Cp_ + c] += mod[2 * C + c] * y_[static_cast<size_t>(h * Cp_ + c)];
    // channel mixing: y = GELU(u W_inᵀ) W_outᵀ, along C
    const float* cm = mod + 3 * C;
    modulated_norm(x, H, C, Cp_, cm, cm + C, xhat + Hp_ * Cp_, rstd + Hp_, u_.data());
    pre = saved_.channel_pre.data() + b * Hp_ * Fp_;
    gemm(Hp_, Fp_, C, u_.data(), Cp_, blk.channel_in.wt.data(), blk.channel_in.ld_wt, pre, Fp_);
    ops::gelu_tanh(pre, hidden_.data(), Hp_ * Fp_);
    gemm(Hp_, Cp_, F, hidden_.data(), Fp_, blk.channel_out.wt.data(), blk.channel_out.ld_wt, y_.data(), Cp_);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t c = 0; c < C; ++c) x[h * Cp_ + c] += cm[2 * C + c] * y_[static_cast<size_t>(h * Cp_ + c)];
  }
  modulated_norm(x, H, C, Cp_, mod, mod + C, saved_.final_xhat.data(), saved_.final_rstd.data(), u_.data());
  gemm(Hp_, Mp_, C, u_.data(), Cp_, output_.wt.data(), output_.ld_wt, y_.data(), Mp_);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t m = 0; m < M; ++m) v[h * M + m] = y_[static_cast<size_t>(h * Mp_ + m)] + output_b_[static_cast<size_t>(m)];
}

void MixerVelocity::backward(const float* dv, float* dchunk) {
  const int64_t H = c_.horizon, C = c_.channels, M = c_.action_dim, Th = c_.token_hidden, F = c_.channel_hidden;
  const float* mod_final = cond_->data() + 6 * C * c_.blocks;
  std::fill(dy_.begin(), dy_.end(), 0.0f);
  for (int64_t h = 0; h < H; ++h) std::copy_n(dv + h * M, M, dy_.data() + h * Mp_);
  gemm(Hp_, Cp_, M, dy_.data(), Mp_, output_.w.data(), output_.ld_w, du_.data(), Cp_);
  std::fill(dx_.begin(), dx_.end(), 0.0f);
  float* dx = dx_.data();
  modulated_norm_backward(du_.data(), saved_.final_xhat.data(), saved_.final_rstd.data(), mod_final, H, C, Cp_, row_.data(), dx);

  for (int64_t b = c_.blocks - 1; b >= 0; --b) {
    const Block& blk = blocks_[static_cast<size_t>(b)];
    const float* mod = cond_->data() + 6 * C * b;
    const float* xhat = saved_.xhat.data() + 2 * b * Hp_ * Cp_;
    const float* rstd = saved_.rstd.data() + 2 * b * Hp_;
    // channel mixing
    const float* cm = mod + 3 * C;
    for (int64_t h = 0; h < H; ++h)
      for (int64_t c = 0; c < C; ++c) dy_[static_cast<size_t>(h * Cp_ + c)] = cm[2 * C + c] * dx[h * Cp_ + c];
    gemm(Hp_, Fp_, C, dy_.data(), Cp_, blk.channel_out.w.data(), blk.channel_out.ld_w, dhidden_.data(), Fp_);
    const float* pre = saved_.channel_pre.data() + b * Hp_ * Fp_;
    ops::times_gelu_tanh_grad(pre, dhidden_.data(), Hp_ * Fp_);
    gemm(Hp_, Cp_, F, dhidden_.data(), Fp_, blk.channel_in.w.data(), blk.channel_in.ld_w, du_.data(), Cp_);
    modulated_norm_backward(du_.data(), xhat + Hp_ * Cp_, rstd + Hp_, cm, H, C, Cp_, row_.data(), dx);
    // token mixing
    for (int64_t h = 0; h < H; ++h)
      for (int64_t c = 0; c < C; ++c) dy_[static_cast<size_t>(h * Cp_ + c)] = mod[2 * C + c] * dx[h * Cp_ + c];
    gemm(Tp_, Cp_, H, blk.token_out.wt.data(), blk.token_out.ld_wt, dy_.data(), Cp_, dhidden_.data(), Cp_);
    pre = saved_.token_pre.data() + b * Tp_ * Cp_;
    ops::times_gelu_tanh_grad(pre, dhidden_.data(), Th * Cp_);
    gemm(Hp_, Cp_, Th, blk.token_in.wt.data(), blk.token_in.ld_wt, dhidden_.data(), Cp_, du_.data(), Cp_);
    modulated_norm_backward(du_.data(), xhat, rstd, mod, H, C, Cp_, row_.data(), dx);
  }
  gemm(Hp_, Ip_, C, dx, Cp_, input_.w.data(), input_.ld_w, dy_.data(), Ip_);
  for (int64_t h = 0; h < H; ++h) std::copy_n(dy_.data() + h * Ip_, M, dchunk + h * M);
}

torch::Tensor MixerVelocity::velocity(const torch::Tensor& noisy_chunk, const torch::Tensor& obs, const torch::Tensor& tau) {
  check_velocity_inputs(c_, noisy_chunk, obs, tau);
  const auto a = noisy_chunk.to(torch::kCPU, torch::kFloat).contiguous(), o = obs.to(torch::kCPU, torch::kFloat).contiguous();
  const auto t = tau.to(torch::kCPU, torch::kFloat).contiguous();
  const int64_t B = a.size(0), HM = c_.horizon * c_.action_dim;
  auto v = torch::empty_like(a);
  for (int64_t b = 0; b < B; ++b)
    forward(a.data_ptr<float>() + b * HM, o.data_ptr<float>() + b * c_.obs_dim, t.data_ptr<float>()[b],
            v.data_ptr<float>() + b * HM);
  return v.to(noisy_chunk.options());
}

std::pair<torch::Tensor, torch::Tensor> MixerVelocity::guided_velocity(const torch::Tensor& chunk, const torch::Tensor& obs,
                                                                       double tau, const torch::Tensor& target,
                                                                       const torch::Tensor& weights) {
  const int64_t B = chunk.size(0), H = c_.horizon, M = c_.action_dim, HM = H * M;
  check_velocity_inputs(c_, chunk, obs, torch::empty({B}));
  if (target.sizes() != chunk.sizes() || weights.dim() != 1 || weights.size(0) != H)
    throw Error("mixer runtime: guidance target " + c10::str(target.sizes()) + " and weights " +
                c10::str(weights.sizes()) + " do not fit the chunk " + c10::str(chunk.sizes()));
  const auto a = chunk.to(torch::kCPU, torch::kFloat).contiguous(), o = obs.to(torch::kCPU, torch::kFloat).contiguous();
  const auto y = target.to(torch::kCPU, torch::kFloat).contiguous(), w = weights.to(torch::kCPU, torch::kFloat).contiguous();
  auto v = torch::empty_like(a), g = torch::empty_like(a);
  std::vector<float> e(static_cast<size_t>(HM)), scaled(static_cast<size_t>(HM));
  // As the autograd default computes it: Â¹ = A + (1 − τ)v, e = W ⊙ (Y − Â¹), g = e + Jᵀ((1 − τ) e).
  const float keep = static_cast<float>(1 - tau);
  for (int64_t b = 0; b < B; ++b) {
    const float *ab = a.data_ptr<float>() + b * HM, *yb = y.data_ptr<float>() + b * HM;
    float *vb = v.data_ptr<float>() + b * HM, *gb = g.data_ptr<float>() + b * HM;
    forward(ab, o.data_ptr<float>() + b * c_.obs_dim, static_cast<float>(tau), vb);
    for (int64_t i = 0; i < HM; ++i) {
      const float endpoint = ab[i] + keep * vb[i];
      e[static_cast<size_t>(i)] = (yb[i] - endpoint) * w.data_ptr<float>()[i / M];
      scaled[static_cast<size_t>(i)] = keep * e[static_cast<size_t>(i)];
    }
    backward(scaled.data(), gb);
    for (int64_t i = 0; i < HM; ++i) gb[i] += e[static_cast<size_t>(i)];
  }
  return {v.to(chunk.options()), g.to(chunk.options())};
}

const Names<PolicyRuntime>& names_of(PolicyRuntime) {
  static const Names<PolicyRuntime> names = {
      {"auto", PolicyRuntime::kAuto}, {"torch", PolicyRuntime::kTorch}, {"fast", PolicyRuntime::kFast}};
  return names;
}

std::shared_ptr<FlowPolicy> on_runtime(const std::shared_ptr<FlowPolicy>& policy, PolicyRuntime runtime) {
  if (runtime == PolicyRuntime::kTorch) return policy;
  if (auto mixer = std::dynamic_pointer_cast<MixerPolicy>(policy)) return std::make_shared<MixerVelocity>(*mixer);
  if (runtime == PolicyRuntime::kAuto) return policy;
  throw Error("--runtime fast covers mixer policies only; run this policy with --runtime torch");
}

}  // namespace engram
