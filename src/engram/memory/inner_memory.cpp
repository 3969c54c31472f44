#include "engram/memory/inner_memory.h"

#include <cmath>
#include <functional>

#include "engram/core/error.h"

namespace engram {

const Names<MemoryKind>& names_of(MemoryKind) {
  static const Names<MemoryKind> names = {{"linear", MemoryKind::kLinear}, {"mlp", MemoryKind::kMlp}};
  return names;
}
const Names<InnerObjective>& names_of(InnerObjective) {
  static const Names<InnerObjective> names = {{"l2", InnerObjective::kL2}, {"dot", InnerObjective::kDot}};
  return names;
}
namespace {

constexpr double kLnEps = 1e-5;

// W applied to x along the last dimension: W [N, r, c] (shared) or [N, n, r, c] (per token).
torch::Tensor apply(const torch::Tensor& w, const torch::Tensor& x) {
  if (w.dim() == 3) return torch::matmul(x, w.transpose(-2, -1));
  return torch::matmul(w, x.unsqueeze(-1)).squeeze(-1);
}

// Matrix m of implicit per-step weights applied to x [N, n, cols].
torch::Tensor apply(const ImplicitWeights& w, size_t m, const torch::Tensor& x) {
  auto y = w.base_scale.unsqueeze(-1) * apply(w.base[m], x);
  if (!w.momentum.empty()) y = y + w.momentum_scale.unsqueeze(-1) * apply(w.momentum[m], x);
  const auto& [L, R] = w.factors[m];
  return y - torch::matmul(w.kernel * torch::matmul(x, R.transpose(1, 2)), L);
}

using Apply = std::function<torch::Tensor(size_t, const torch::Tensor&)>;

Apply explicit_weights(const FastWeights& w) {
  return [&w](size_t m, const torch::Tensor& x) { return apply(w[m], x); };
}

// Exact GELU from elementwise ops: LibTorch 1.13's fused gelu backward (approximate="none") returns
// wrong values for a non-contiguous incoming gradient, which the dual form's reads produce
// (InnerLoopDualForm.EqualsMaterialisedWeightsAtModelShapes).
torch::Tensor exact_gelu(const torch::Tensor& z) { return 0.5 * z * (1 + torch::erf(z / std::sqrt(2.0))); }

torch::Tensor gelu_grad(const torch::Tensor& z) {
  // σ'(z) = Φ(z) + z ϕ(z)
  return 0.5 * (1 + torch::erf(z / std::sqrt(2.0))) + z * torch::exp(-0.5 * z * z) / std::sqrt(2 * M_PI);
}

struct Forward {
  torch::Tensor z, a, p, p_hat, inv_std, y;
};

// The memory's forward pass, with `apply(m, x)` the product of weight matrix m and inputs x.
Forward run(const InnerMemoryConfig& c, const Apply& apply, const MemoryBatch& b) {
  Forward f;
  if (c.kind == MemoryKind::kLinear) {
    f.p = apply(0, b.x);
  } else {
    f.z = apply(1, b.x);
    f.a = exact_gelu(f.z);
    f.p = apply(0, f.a);
  }
  auto out = f.p;
  if (c.layer_norm) {
    auto mean = f.p.mean(-1, true);
    auto var = (f.p - mean).square().mean(-1, true);
    f.inv_std = torch::rsqrt(var + kLnEps);
    f.p_hat = (f.p - mean) * f.inv_std;
    out = b.gain.defined() ? b.gain * f.p_hat : f.p_hat;
  }
  f.y = c.residual ? b.r + out : out;
  return f;
}

}  // namespace

InnerMemory::InnerMemory(InnerMemoryConfig config) : config_(std::move(config)) {
}

std::vector<std::pair<int64_t, int64_t>> InnerMemory::shapes() const {
  const auto& c = config_;
  if (c.kind == MemoryKind::kLinear) return {{c.output_dim, c.input_dim}};
  return {{c.output_dim, c.hidden}, {c.hidden, c.input_dim}};
}

torch::Tensor InnerMemory::read(const FastWeights& w, const MemoryBatch& b) const {
  return run(config_, explicit_weights(w), b).y;
}

torch::Tensor InnerMemory::read(const ImplicitWeights& w, const MemoryBatch& b) const {
  return run(config_, [&w](size_t m, const torch::Tensor& x) { return apply(w, m, x); }, b).y;
}

std::vector<std::pair<torch::Tensor, torch::Tensor>> InnerMemory::gradient_factors(const FastWeights& w,
                                                                                   const MemoryBatch& b) const {
  const auto& c = config_;
  const Forward f = run(c, explicit_weights(w), b);
  auto e = c.objective == InnerObjective::kL2 ? 2 * (f.y - b.v) : -b.v;  // ∂ℓ/∂ŷ
  auto g = e;                                              // ∂ℓ/∂p
  if (c.layer_norm) {
    auto e2 = b.gain.defined() ? e * b.gain : e;
    g = f.inv_std * (e2 - e2.mean(-1, true) - f.p_hat * (e2 * f.p_hat).mean(-1, true));
  }
  if (c.kind == MemoryKind::kLinear) return {{g, b.x}};
  auto delta = torch::matmul(g, w[0]) * gelu_grad(f.z);  // (W1ᵀ g) ⊙ σ'(z)
  return {{g, f.a}, {delta, b.x}};
}

}  // namespace engram
