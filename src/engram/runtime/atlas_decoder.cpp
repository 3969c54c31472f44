// The ATLAS family (seq/atlas.h) one token at a time. Per block: RMSNorm; the q/k/v projection
// through the causal depthwise convolution (the last conv − 1 projections kept) and SiLU; ℓ2-
// normalised q and k, the per-head gates and the feature map; then every head's test-time-trained
// memory takes its optimiser step on the window and is read — run_inner_loop (memory/inner_loop.h)
// with one token per call; per-head RMSNorm, the output gate and projection, the SwiGLU MLP.
// Parameters are read by their names in Atlas; the memory's gradient is the analytic one of
// memory/inner_memory.cpp, for one token at a time.
#include "engram/runtime/atlas_decoder.h"

#include <algorithm>
#include <cmath>

#include "engram/kernels/tile_math.h"
#include "engram/memory/feature_map.h"
#include "engram/runtime/ops.h"
#include "engram/runtime/weights.h"
#include "engram/seq/atlas.h"

namespace engram {
namespace {

constexpr float kRmsEps = 1e-6f;   // Atlas's rms_norm
constexpr float kUnitEps = 1e-6f;  // q, k ← q/(‖q‖ + ε)
constexpr float kLnEps = 1e-5f;    // the memory's LayerNorm (inner_memory.cpp)
constexpr float kNsEps = 1e-7f;    // newton_schulz's default

float silu(float a) { return a / (1.0f + std::exp(-a)); }
float sigmoid(float a) { return 1.0f / (1.0f + std::exp(-a)); }
float gelu(float z) { return 0.5f * z * (1.0f + std::erf(z / std::sqrt(2.0f))); }
float gelu_grad(float z) {  // Φ(z) + z ϕ(z)
  constexpr float kSqrtTwoPi = 2.5066282746310002f;
  return 0.5f * (1.0f + std::erf(z / std::sqrt(2.0f))) + z * std::exp(-0.5f * z * z) / kSqrtTwoPi;
}

void rms_norm(const float* x, const float* w, float* y, int64_t n) {
  const float inv = 1.0f / std::sqrt(ops::sum_squares(x, n) / static_cast<float>(n) + kRmsEps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * inv * w[i];
}

// G[rows, cols] += s · u vᵀ
ENGRAM_SIMD_CLONES
void add_outer(float* G, float s, const float* u, const float* v, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float a = s * u[r];
    float* g = G + r * cols;
    for (int64_t c = 0; c < cols; ++c) g[c] += a * v[c];
  }
}

// Scratch of the Newton–Schulz iteration: [r, c] in the wide orientation, padded for the tile product.
struct NsScratch {
  Buffer x, xt, a, a2, y;
};

// O = NS_k(S) for S [rows, cols], as memory/newton_schulz.cpp: normalise by the Frobenius norm, then
// k quintic steps X ← aX + (bA + cA²)X with A = XXᵀ on the wide orientation (r ≤ c).
ENGRAM_SIMD_CLONES
void newton_schulz(const float* S, int64_t rows, int64_t cols, int64_t steps, float* O, NsScratch& w) {
  constexpr float qa = 3.4445f, qb = -4.7750f, qc = 2.0315f;
  const bool tall = rows > cols;
  const int64_t r = tall ? cols : rows, c = tall ? rows : cols;
  const int64_t rp = tile::round_up(r, tile::kCols), cp = tile::round_up(c, tile::kCols);
  w.x.assign(static_cast<size_t>(rp * cp), 0.0f);
  w.y.assign(w.x.size(), 0.0f);
  w.xt.assign(w.x.size(), 0.0f);
  w.a.assign(static_cast<size_t>(rp * rp), 0.0f);
  w.a2.assign(w.a.size(), 0.0f);
  const float inv = 1.0f / (std::sqrt(ops::sum_squares(S, rows * cols)) + kNsEps);
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) w.x[i * cp + j] = (tall ? S[j * cols + i] : S[i * cols + j]) * inv;
  for (int64_t s = 0; s < steps; ++s) {
    for (int64_t i = 0; i < r; ++i)
      for (int64_t j = 0; j < c; ++j) w.xt[j * rp + i] = w.x[i * cp + j];
    std::fill(w.a.begin(), w.a.end(), 0.0f);
    tile::gemm_acc<tile::vec8>(rp, rp, cp, w.x.data(), cp, w.xt.data(), rp, w.a.data(), rp);  // A = X Xᵀ
    std::fill(w.a2.begin(), w.a2.end(), 0.0f);
    tile::gemm_acc<tile::vec8>(rp, rp, rp, w.a.data(), rp, w.a.data(), rp, w.a2.data(), rp);  // A²
    for (size_t i = 0; i < w.a.size(); ++i) w.a2[i] = qb * w.a[i] + qc * w.a2[i];  // B = bA + cA²
    for (size_t i = 0; i < w.x.size(); ++i) w.y[i] = qa * w.x[i];
    tile::gemm_acc<tile::vec8>(rp, cp, rp, w.a2.data(), rp, w.x.data(), cp, w.y.data(), cp);  // aX + BX
    std::swap(w.x, w.y);
  }
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) (tall ? O[j * cols + i] : O[i * cols + j]) = w.x[i * cp + j];
}

// One head's fast-weight memory (memory/inner_memory.h): linear {M [dv, D]} or MLP {W1 [dv, hid],
// W2 [hid, D]}, an optional LayerNorm on its prediction and the residual r.
struct MemoryShape {
  bool mlp, layer_norm, residual, l2;
  int64_t D, dv, hid;
};

// What one token's pass through a memory leaves for the gradient.
struct Pass {
  Buffer z, a, p, p_hat, y, e, g, delta;
  float inv_std = 1.0f;
};

// ŷ for input x (and residual r, LayerNorm gain, either may be null) with weights W.
void memory_read(const MemoryShape& s, const std::vector<Buffer>& W, const float* x, const float* r, const float* gain,
                 Pass& f) {
  if (s.mlp) {
    ops::matvec(W[1].data(), nullptr, x, f.z.data(), s.hid, s.D);
    for (int64_t i = 0; i < s.hid; ++i) f.a[i] = gelu(f.z[i]);
    ops::matvec(W[0].data(), nullptr, f.a.data(), f.p.data(), s.dv, s.hid);
  } else {
    ops::matvec(W[0].data(), nullptr, x, f.p.data(), s.dv, s.D);
  }
  for (int64_t i = 0; i < s.dv; ++i) f.y[i] = f.p[i];
  if (s.layer_norm) {
    double mean = 0, var = 0;
    for (int64_t i = 0; i < s.dv; ++i) mean += f.p[i];
    mean /= static_cast<double>(s.dv);
    for (int64_t i = 0; i < s.dv; ++i) var += (f.p[i] - mean) * (f.p[i] - mean);
    f.inv_std = static_cast<float>(1.0 / std::sqrt(var / static_cast<double>(s.dv) + kLnEps));
    for (int64_t i = 0; i < s.dv; ++i) {
      f.p_hat[i] = static_cast<float>((f.p[i] - mean) * f.inv_std);
      f.y[i] = gain ? gain[i] * f.p_hat[i] : f.p_hat[i];
    }
  }
  if (s.residual)
    for (int64_t i = 0; i < s.dv; ++i) f.y[i] += r[i];
}

// G += γ ∇_W ℓ(W; x, v) for every matrix: ℓ = ‖ŷ − v‖² (l2) or −⟨ŷ, v⟩ (dot).
void add_gradient(const MemoryShape& s, const std::vector<Buffer>& W, const float* x, const float* v, const float* r,
                  const float* gain, float gamma, Pass& f, std::vector<Buffer>& G) {
  memory_read(s, W, x, r, gain, f);
  for (int64_t i = 0; i < s.dv; ++i) f.e[i] = s.l2 ? 2 * (f.y[i] - v[i]) : -v[i];  // ∂ℓ/∂ŷ
  if (s.layer_norm) {  // through the LayerNorm to ∂ℓ/∂p
    float m1 = 0, m2 = 0;
    for (int64_t i = 0; i < s.dv; ++i) {
      f.e[i] = gain ? f.e[i] * gain[i] : f.e[i];
      m1 += f.e[i];
      m2 += f.e[i] * f.p_hat[i];
    }
    m1 /= static_cast<float>(s.dv), m2 /= static_cast<float>(s.dv);
    for (int64_t i = 0; i < s.dv; ++i) f.g[i] = f.inv_std * (f.e[i] - m1 - f.p_hat[i] * m2);
  } else {
    f.g = f.e;
  }
  if (!s.mlp) return add_outer(G[0].data(), gamma, f.g.data(), x, s.dv, s.D);
  add_outer(G[0].data(), gamma, f.g.data(), f.a.data(), s.dv, s.hid);
  for (int64_t j = 0; j < s.hid; ++j) {  // (W1ᵀ g) ⊙ σ'(z)
    float sum = 0;
    for (int64_t i = 0; i < s.dv; ++i) sum += W[0][i * s.hid + j] * f.g[i];
    f.delta[j] = sum * gelu_grad(f.z[j]);
  }
  add_outer(G[1].data(), gamma, f.delta.data(), x, s.hid, s.D);
}

// A key token of the window: features φ(k), value v, residual r and its window weight γ.
struct WindowToken {
  Buffer x, v, r;
  float gamma = 0;
};

struct HeadState {
  std::vector<Buffer> weights, reference, momentum;
  std::vector<WindowToken> window;  // ring of the last `span` key tokens
  int64_t window_start = 0, window_count = 0;
};

struct Layer {
  Buffer norm_1, norm_2, qkv_W, conv, gates_W, gates_b, coefficients, memory_gain, head_norm;
  Buffer out_gate_W, c_proj_W, w_gate_W, w_up_W, w_down_W;
  std::vector<Buffer> m0;  // per matrix [H, rows, cols]
  // decoding state
  Buffer conv_history;  // [conv − 1, 3d], oldest first
  std::vector<HeadState> heads;
};

class AtlasDecoder : public Decoder {
 public:
  explicit AtlasDecoder(const Atlas& model) : c_(AtlasConfig::from_json(model.config(), "model")) {
    V_ = c_.vocab_size;
    d_ = c_.n_embd;
    H_ = c_.n_head;
    dh_ = d_ / H_;
    ffn_ = 8 * d_ / 3;
    K_ = c_.conv;
    span_ = c_.mode == InnerMode::kBlock ? std::max(c_.window, c_.chunk) : c_.window;
    const bool poly = c_.feature_map == FeatureKind::kPolynomial;
    shape_.mlp = c_.memory == MemoryKind::kMlp;
    shape_.layer_norm = c_.memory_norm;
    shape_.residual = shape_.mlp;
    shape_.l2 = c_.objective == InnerObjective::kL2;
    shape_.D = poly ? binomial(dh_ + c_.degree, c_.degree) : dh_;
    shape_.dv = dh_;
    shape_.hid = c_.memory_expansion * dh_;
    if (poly)
      for (int64_t j = 1; j <= c_.degree; ++j) monomials_.push_back(monomials(dh_, j));
    const auto params = model.named_parameters();
    wte_ = pack_parameter(params, "wte.weight");
    ln_f_ = pack_parameter(params, "ln_f");
    for (int64_t i = 0; i < c_.n_layer; ++i) {
      const std::string p = "blocks." + std::to_string(i) + ".";
      Layer l;
      l.norm_1 = pack_parameter(params, p + "norm_1");
      l.norm_2 = pack_parameter(params, p + "norm_2");
      l.qkv_W = pack_parameter(params, p + "qkv.weight");
      l.conv = pack_parameter(params, p + "conv", K_ > 0);  // [3d, 1, K] packed as [3d, K]
      l.gates_W = pack_parameter(params, p + "gates.weight");
      l.gates_b = pack_parameter(params, p + "gates.bias");
      l.coefficients = pack_parameter(params, p + "features.coefficients", poly);
      l.memory_gain = pack_parameter(params, p + "memory_gain", c_.memory_norm);
      l.head_norm = pack_parameter(params, p + "head_norm");
      l.out_gate_W = pack_parameter(params, p + "out_gate.weight");
      l.c_proj_W = pack_parameter(params, p + "c_proj.weight");
      l.w_gate_W = pack_parameter(params, p + "w_gate.weight");
      l.w_up_W = pack_parameter(params, p + "w_up.weight");
      l.w_down_W = pack_parameter(params, p + "w_down.weight");
      for (size_t m = 0; m < (shape_.mlp ? 2u : 1u); ++m) l.m0.push_back(pack_parameter(params, p + "m0_" + std::to_string(m)));
      for (auto& g : l.memory_gain) g += 1;  // the LayerNorm's gain is 1 + memory_gain
      layers_.push_back(std::move(l));
    }
    for (const auto& [rows, cols] : matrix_shapes()) gradient_.push_back(Buffer(static_cast<size_t>(rows * cols)));
    ortho_ = gradient_;
    x_.resize(d_), h_.resize(d_), proj_.resize(3 * d_), gates_.resize(4 * H_), gate_out_.resize(d_);
    read_.resize(d_), out_.resize(d_), ff_gate_.resize(ffn_), ff_up_.resize(ffn_);
    q_features_.resize(shape_.D), q_residual_.resize(dh_);
    for (auto* b : {&pass_.p, &pass_.p_hat, &pass_.y, &pass_.e, &pass_.g}) b->resize(dh_);
    for (auto* b : {&pass_.z, &pass_.a, &pass_.delta}) b->resize(shape_.hid);
    logits_.resize(V_);
    reset();
  }

  void reset() override {
    position_ = 0;
    for (auto& l : layers_) {
      l.conv_history.assign(static_cast<size_t>(std::max<int64_t>(K_ - 1, 0) * 3 * d_), 0.0f);
      l.heads.assign(H_, HeadState{});
      const auto shapes = matrix_shapes();
      for (int64_t h = 0; h < H_; ++h) {
        auto& s = l.heads[h];
        for (size_t m = 0; m < shapes.size(); ++m) {
          const int64_t size = shapes[m].first * shapes[m].second;
          s.weights.emplace_back(l.m0[m].begin() + h * size, l.m0[m].begin() + (h + 1) * size);
          s.momentum.emplace_back(static_cast<size_t>(size), 0.0f);
        }
        s.reference = s.weights;
        s.window.resize(static_cast<size_t>(span_));
        for (auto& w : s.window) w.x.resize(shape_.D), w.v.resize(dh_), w.r.resize(dh_);
      }
    }
  }

  int64_t vocab_size() const override { return V_; }
  // every head's weights, read each step (the reference and momentum only at a step of the inner loop)
  double state_bytes() const override {
    double floats = 0;
    for (const auto& m : gradient_) floats += static_cast<double>(m.size());
    return 4.0 * floats * static_cast<double>(H_ * layers_.size());
  }

  const float* step(int64_t token) override {
    if (token < 0 || token >= V_) throw Error("decoder: token " + std::to_string(token) + " is outside the vocabulary");
    std::copy_n(wte_.data() + token * d_, d_, x_.data());
    for (size_t i = 0; i < layers_.size(); ++i) {
      auto& l = layers_[i];
      rms_norm(x_.data(), l.norm_1.data(), h_.data(), d_);
      mix(l, static_cast<int64_t>(i));
      ops::add(x_.data(), out_.data(), d_);
      rms_norm(x_.data(), l.norm_2.data(), h_.data(), d_);  // SwiGLU
      ops::matvec(l.w_gate_W.data(), nullptr, h_.data(), ff_gate_.data(), ffn_, d_);
      ops::matvec(l.w_up_W.data(), nullptr, h_.data(), ff_up_.data(), ffn_, d_);
      for (int64_t j = 0; j < ffn_; ++j) ff_gate_[j] = silu(ff_gate_[j]) * ff_up_[j];
      ops::matvec(l.w_down_W.data(), nullptr, ff_gate_.data(), out_.data(), d_, ffn_);
      ops::add(x_.data(), out_.data(), d_);
    }
    rms_norm(x_.data(), ln_f_.data(), h_.data(), d_);
    ops::matvec(wte_.data(), nullptr, h_.data(), logits_.data(), V_, d_);
    ++position_;
    return logits_.data();
  }

 private:
  std::vector<std::pair<int64_t, int64_t>> matrix_shapes() const {
    if (!shape_.mlp) return {{shape_.dv, shape_.D}};
    return {{shape_.dv, shape_.hid}, {shape_.hid, shape_.D}};
  }

  // The token mixer on h_ (the normalised block input) into out_.
  void mix(Layer& l, int64_t layer) {
    const int64_t pos = position_;
    ops::matvec(l.qkv_W.data(), nullptr, h_.data(), proj_.data(), 3 * d_, d_);
    if (K_ > 0) {  // causal depthwise convolution over the last K projections, then remember them
      for (int64_t ch = 0; ch < 3 * d_; ++ch) {
        const float* w = l.conv.data() + ch * K_;
        float sum = 0;
        for (int64_t j = 0; j + 1 < K_; ++j) sum += w[j] * l.conv_history[j * 3 * d_ + ch];
        const float now = proj_[ch];
        proj_[ch] = sum + w[K_ - 1] * now;
        if (K_ > 1) {
          for (int64_t j = 0; j + 2 < K_; ++j) l.conv_history[j * 3 * d_ + ch] = l.conv_history[(j + 1) * 3 * d_ + ch];
          l.conv_history[(K_ - 2) * 3 * d_ + ch] = now;
        }
      }
    }
    for (auto& p : proj_) p = silu(p);
    ops::matvec(l.gates_W.data(), l.gates_b.data(), h_.data(), gates_.data(), 4 * H_, d_);
    for (auto& g : gates_) g = sigmoid(g);
    ops::matvec(l.out_gate_W.data(), nullptr, h_.data(), gate_out_.data(), d_, d_);
    const bool block_mode = c_.mode == InnerMode::kBlock;
    for (int64_t h = 0; h < H_; ++h) {
      float *q = proj_.data() + h * dh_, *k = q + d_;
      const float* v = k + d_;
      unit(q), unit(k);
      HeadState& s = l.heads[h];
      const float* gain = c_.memory_norm ? l.memory_gain.data() + h * dh_ : nullptr;
      if (pos % c_.chunk == 0) s.reference = s.weights;
      WindowToken& now = s.window[(s.window_start + s.window_count++) % span_];
      features(l, k, now.x.data(), now.r.data());
      std::copy_n(v, dh_, now.v.data());
      now.gamma = gates_[h];
      if (!block_mode) optimiser_step(s, h, gain);  // mode P reads after its write
      features(l, q, q_features_.data(), q_residual_.data());
      memory_read(shape_, s.weights, q_features_.data(), q_residual_.data(), gain, pass_);
      float* y = read_.data() + h * dh_;
      for (int64_t e = 0; e < dh_; ++e) {
        if (!std::isfinite(pass_.y[e]))
          throw Error("atlas: the memory of layer " + std::to_string(layer) + ", head " + std::to_string(h) +
                      " diverged at position " + std::to_string(pos) +
                      " (non-finite read-out); lower model.eta_max (now " + std::to_string(c_.eta_max) +
                      ") or use a retention gate");
      }
      rms_norm(pass_.y.data(), l.head_norm.data(), y, dh_);
      // mode B reads the state before its block's step, taken once the block is complete
      if (block_mode && (pos + 1) % c_.chunk == 0) optimiser_step(s, h, gain);
      if (s.window_count > span_ - 1) s.window_start = (s.window_start + 1) % span_, --s.window_count;
    }
    for (int64_t j = 0; j < d_; ++j) read_[j] *= silu(gate_out_[j]);
    ops::matvec(l.c_proj_W.data(), nullptr, read_.data(), out_.data(), d_, d_);
  }

  // x ← x/(‖x‖ + ε) over one head
  void unit(float* x) const {
    const float inv = 1.0f / (std::sqrt(ops::sum_squares(x, dh_)) + kUnitEps);
    for (int64_t e = 0; e < dh_; ++e) x[e] *= inv;
  }

  // φ(x) and the residual's linear part (√a₁ x; x itself for the identity) of one head's input.
  void features(const Layer& l, const float* x, float* phi, float* residual) const {
    if (monomials_.empty()) {
      std::copy_n(x, dh_, phi);
      std::copy_n(x, dh_, residual);
      return;
    }
    const float* a = l.coefficients.data();
    int64_t o = 0;
    phi[o++] = a[0];
    for (size_t j = 0; j < monomials_.size(); ++j) {
      const auto& m = monomials_[j];
      const size_t degree = j + 1;
      for (size_t n = 0; n < m.weight.size(); ++n) {
        const int64_t* idx = m.index.data() + n * degree;
        float prod = x[idx[0]];
        for (size_t f = 1; f < degree; ++f) prod *= x[idx[f]];
        phi[o++] = a[degree] * m.weight[n] * prod;
      }
    }
    for (int64_t e = 0; e < dh_; ++e) residual[e] = a[1] * x[e];
  }

  // One optimiser step of head h on its window's gradient at the reference weights, with the gates
  // of the current token (the window's newest).
  void optimiser_step(HeadState& s, int64_t h, const float* gain) {
    for (auto& G : gradient_) std::fill(G.begin(), G.end(), 0.0f);
    for (int64_t i = 0; i < s.window_count; ++i) {
      const WindowToken& w = s.window[(s.window_start + i) % span_];
      add_gradient(shape_, s.reference, w.x.data(), w.v.data(), w.r.data(), gain, w.gamma, pass_, gradient_);
    }
    const float eta = static_cast<float>(c_.eta_max) * gates_[H_ + h];
    const float alpha = c_.retention == Retention::kLearned ? gates_[2 * H_ + h] : 1.0f;
    const float theta = gates_[3 * H_ + h];
    const auto shapes = matrix_shapes();
    for (size_t m = 0; m < gradient_.size(); ++m) {
      float *W = s.weights[m].data(), *S = s.momentum[m].data();
      const float* G = gradient_[m].data();
      const auto n = static_cast<int64_t>(gradient_[m].size());
      switch (c_.optimizer) {
        case InnerOptimizer::kGd:
          for (int64_t i = 0; i < n; ++i) W[i] = alpha * W[i] - eta * G[i];
          break;
        case InnerOptimizer::kMomentum:
          for (int64_t i = 0; i < n; ++i) {
            S[i] = theta * S[i] - eta * G[i];
            W[i] = alpha * W[i] + S[i];
          }
          break;
        case InnerOptimizer::kMuon:
          for (int64_t i = 0; i < n; ++i) S[i] = theta * S[i] + G[i];
          newton_schulz(S, shapes[m].first, shapes[m].second, c_.ns_steps, ortho_[m].data(), ns_);
          for (int64_t i = 0; i < n; ++i) W[i] = alpha * W[i] - eta * ortho_[m][i];
          break;
      }
    }
  }

  AtlasConfig c_;
  int64_t V_, d_, H_, dh_, ffn_, K_, span_;
  MemoryShape shape_;
  std::vector<Monomials> monomials_;  // per degree 1 … p (empty: identity features)
  Buffer wte_, ln_f_;
  std::vector<Layer> layers_;
  // scratch
  Buffer x_, h_, proj_, gates_, gate_out_, read_, out_, ff_gate_, ff_up_, q_features_, q_residual_, logits_;
  std::vector<Buffer> gradient_, ortho_;
  Pass pass_;
  NsScratch ns_;
};

}  // namespace

std::unique_ptr<Decoder> make_atlas_decoder(const Atlas& model) { return std::make_unique<AtlasDecoder>(model); }

}  // namespace engram
