#include "engram/memory/inner_loop.h"

#include <algorithm>
#include <tuple>

#include "engram/core/error.h"
#include "engram/memory/newton_schulz.h"

namespace engram {
namespace {

MemoryBatch slice(const MemoryBatch& b, int64_t start, int64_t length) {
  auto cut = [&](const torch::Tensor& t) { return t.defined() ? t.narrow(1, start, length) : t; };
  return {cut(b.x), cut(b.v), cut(b.r), b.gain};
}

MemoryBatch concat(const MemoryBatch& a, const MemoryBatch& b) {
  if (!a.x.defined() || a.x.size(1) == 0) return b;
  auto cat = [](const torch::Tensor& x, const torch::Tensor& y) { return x.defined() ? torch::cat({x, y}, 1) : x; };
  return {cat(a.x, b.x), cat(a.v, b.v), cat(a.r, b.r), b.gain};
}

torch::Tensor scalar(const torch::Tensor& gate, int64_t t) { return gate.select(1, t).view({-1, 1, 1}); }

// Step j of per-step stacks [N, steps, rows, cols], one matrix each.
std::vector<torch::Tensor> at_step(const std::vector<torch::Tensor>& stacks, int64_t j) {
  std::vector<torch::Tensor> out;
  for (const auto& s : stacks) out.push_back(s.select(1, j));
  return out;
}

// G[n] = Σ_i weight[n, i] L_i R_iᵀ for every matrix: [N, steps, rows, cols].
std::vector<torch::Tensor> windowed_gradients(const std::vector<std::pair<torch::Tensor, torch::Tensor>>& factors,
                                              const torch::Tensor& weight) {
  std::vector<torch::Tensor> out;
  for (const auto& [L, R] : factors) out.push_back(torch::einsum("zni,zir,zic->znrc", {weight, L, R}));
  return out;
}

// Decay kernel of gates g [N, n]: P[z, j, m] = Π_{l=m+1}^{j} g[z, l] for m ≤ j, else 0; and the
// running products Π_{l≤j} g[z, l] [N, n]. Built from products, not log-space sums: a log makes the
// backward divide by the gate, which overflows when a gate comes near 0.
std::pair<torch::Tensor, torch::Tensor> decay_kernel(const torch::Tensor& g) {
  const int64_t n = g.size(1);
  auto past = torch::ones({n, n}, g.options()).tril();  // [j, l]: l ≤ j
  // Row j holds g_l for l ≤ j and 1 after; its suffix products from m + 1 on are P[j, m].
  auto rows = g.unsqueeze(1) * past + (1 - past);                                  // [N, n, n]
  auto suffix = rows.flip(-1).cumprod(-1).flip(-1);                               // Π_{l ≥ m}
  auto P = torch::cat({suffix.narrow(-1, 1, n - 1), torch::ones_like(suffix.narrow(-1, 0, 1))}, -1) * past;
  return {P, g.cumprod(1)};
}

}  // namespace

InnerLoopState initial_inner_state(const InnerMemory& memory, const FastWeights& m0, int64_t n_memories) {
  const auto shapes = memory.shapes();
  if (m0.size() != shapes.size()) throw Error("inner loop: M0 has " + std::to_string(m0.size()) + " matrices, the memory " + std::to_string(shapes.size()));
  InnerLoopState s;
  for (size_t m = 0; m < m0.size(); ++m) {
    const auto& w = m0[m].dim() == 2 ? m0[m].unsqueeze(0) : m0[m];  // [G, rows, cols]
    const int64_t G = w.size(0), rows = shapes[m].first, cols = shapes[m].second;
    if (w.dim() != 3 || w.size(1) != rows || w.size(2) != cols || n_memories % G != 0)
      throw Error("inner loop: M0 matrix " + std::to_string(m) + " has shape " + c10::str(m0[m].sizes()) + " for " +
                  std::to_string(n_memories) + " memories of " + std::to_string(rows) + "x" + std::to_string(cols));
    s.weights.push_back(w.unsqueeze(0).expand({n_memories / G, G, rows, cols}).reshape({n_memories, rows, cols}));
    s.momentum.push_back(torch::zeros({n_memories, rows, cols}, w.options()));
  }
  s.reference = s.weights;
  return s;
}

const Names<InnerOptimizer>& names_of(InnerOptimizer) {
  static const Names<InnerOptimizer> names = {
      {"gd", InnerOptimizer::kGd}, {"momentum", InnerOptimizer::kMomentum}, {"muon", InnerOptimizer::kMuon}};
  return names;
}

const Names<InnerMode>& names_of(InnerMode) {
  static const Names<InnerMode> names = {{"P", InnerMode::kPerToken}, {"B", InnerMode::kBlock}};
  return names;
}

torch::Tensor run_inner_loop(const InnerMemory& memory, const InnerLoopConfig& cfg, const InnerLoopInputs& in,
                             InnerLoopState& state) {
  if (cfg.window < 1 || cfg.chunk < 1) throw Error("inner loop: window and chunk must be ≥ 1");
  const int64_t T = in.keys.x.size(1);
  const bool block_mode = cfg.mode == InnerMode::kBlock;
  const int64_t span = block_mode ? std::max(cfg.window, cfg.chunk) : cfg.window;  // tokens a step can see
  const size_t M = state.weights.size();
  std::vector<torch::Tensor> reads;

  // One optimiser step on the weights from gradient G (per matrix [N, rows, cols]) with token t's gates;
  // for muon, `ortho` holds NS(S) computed by the caller (batched).
  auto momentum_update = [&](const std::vector<torch::Tensor>& G, int64_t t) {
    for (size_t m = 0; m < M; ++m) {
      if (cfg.optimizer == InnerOptimizer::kMomentum) state.momentum[m] = scalar(in.theta, t) * state.momentum[m] - scalar(in.eta, t) * G[m];
      if (cfg.optimizer == InnerOptimizer::kMuon) state.momentum[m] = scalar(in.theta, t) * state.momentum[m] + G[m];
    }
  };
  auto weight_update = [&](const std::vector<torch::Tensor>& G, const std::vector<torch::Tensor>& ortho, int64_t t) {
    for (size_t m = 0; m < M; ++m) {
      auto a = scalar(in.alpha, t);
      if (cfg.optimizer == InnerOptimizer::kGd) state.weights[m] = a * state.weights[m] - scalar(in.eta, t) * G[m];
      if (cfg.optimizer == InnerOptimizer::kMomentum) state.weights[m] = a * state.weights[m] + state.momentum[m];
      if (cfg.optimizer == InnerOptimizer::kMuon) state.weights[m] = a * state.weights[m] - scalar(in.eta, t) * ortho[m];
    }
  };

  int64_t t = 0;
  while (t < T) {
    const int64_t pos = state.position + t;
    if (pos % cfg.chunk == 0) state.reference = state.weights;
    const int64_t n = std::min(cfg.chunk - pos % cfg.chunk, T - t);  // tokens left in this chunk
    const MemoryBatch seg = slice(in.keys, t, n);
    const int64_t n_carry = state.carry.x.defined() ? state.carry.x.size(1) : 0;
    const MemoryBatch window = concat(state.carry, seg);
    auto gamma = n_carry ? torch::cat({state.carry_gamma, in.gamma.narrow(1, t, n)}, 1) : in.gamma.narrow(1, t, n);
    MemoryBatch queries{in.queries.narrow(1, t, n), {}, in.query_residual.defined() ? in.query_residual.narrow(1, t, n) : torch::Tensor(), in.keys.gain};

    if (!block_mode) {
      // Step j of the segment (window index n_carry + j) sees window indices [n_carry + j − c + 1, n_carry + j].
      auto idx = torch::arange(n_carry + n, gamma.options().dtype(torch::kLong));
      auto step = torch::arange(n, gamma.options().dtype(torch::kLong)).unsqueeze(1) + n_carry;
      auto omega = (idx.unsqueeze(0) <= step).logical_and(idx.unsqueeze(0) > step - cfg.window).to(gamma.dtype());
      auto weight = omega.unsqueeze(0) * gamma.unsqueeze(1);  // [N, n, n_window]
      const auto factors = memory.gradient_factors(state.reference, window);
      if (cfg.dual_form && cfg.optimizer != InnerOptimizer::kMuon) {
        // Step j's weights W_j = a_j W + c_j S − Σ_i K[j, i] L_i R_iᵀ, with W, S the segment-start state:
        //   gd        a = Π α,  K = P_α diag(η) Ω
        //   momentum  a = Π α,  c = P_α Π θ,  K = P_α P_θ diag(η) Ω,  S_j = Π θ · S − P_θ diag(η) Ω (…)
        const auto [P_alpha, A] = decay_kernel(in.alpha.narrow(1, t, n));
        const auto eta = in.eta.narrow(1, t, n).unsqueeze(1);
        ImplicitWeights implicit{state.weights, {}, A, {}, {}, factors};
        torch::Tensor momentum_kernel, Theta;
        if (cfg.optimizer == InnerOptimizer::kGd) {
          implicit.kernel = torch::matmul(P_alpha * eta, weight);
        } else {
          torch::Tensor P_theta;
          std::tie(P_theta, Theta) = decay_kernel(in.theta.narrow(1, t, n));
          momentum_kernel = torch::matmul(P_theta * eta, weight);
          implicit.momentum = state.momentum;
          implicit.momentum_scale = torch::matmul(P_alpha, Theta.unsqueeze(-1)).squeeze(-1);
          implicit.kernel = torch::matmul(P_alpha, momentum_kernel);
        }
        reads.push_back(memory.read(implicit, queries));  // read after write
        // The state after the segment's last step, materialised once.
        auto last = [&](const torch::Tensor& scale, const torch::Tensor& kernel, const torch::Tensor& from, size_t m) {
          const auto& [L, R] = factors[m];
          auto k = kernel.select(1, n - 1);
          return scale.select(1, n - 1).view({-1, 1, 1}) * from - torch::einsum("zi,zir,zic->zrc", {k, L, R});
        };
        for (size_t m = 0; m < M; ++m) {
          auto w = last(A, implicit.kernel, state.weights[m], m);
          if (cfg.optimizer == InnerOptimizer::kMomentum) {
            w = w + implicit.momentum_scale.select(1, n - 1).view({-1, 1, 1}) * state.momentum[m];
            state.momentum[m] = last(Theta, momentum_kernel, state.momentum[m], m);
          }
          state.weights[m] = w;
        }
      } else {
        auto G = windowed_gradients(factors, weight);
        std::vector<std::vector<torch::Tensor>> per_step_weights(M);
        auto keep_weights = [&] {
          for (size_t m = 0; m < M; ++m) per_step_weights[m].push_back(state.weights[m]);
        };
        if (cfg.optimizer == InnerOptimizer::kMuon) {
          // The momentum recurrence does not involve M, so every step's NS runs in one batched call.
          std::vector<std::vector<torch::Tensor>> S(M);
          for (int64_t j = 0; j < n; ++j) {
            momentum_update(at_step(G, j), t + j);
            for (size_t m = 0; m < M; ++m) S[m].push_back(state.momentum[m]);
          }
          std::vector<torch::Tensor> ortho(M);
          for (size_t m = 0; m < M; ++m) ortho[m] = newton_schulz(torch::stack(S[m], 1), cfg.ns_steps);
          for (int64_t j = 0; j < n; ++j) {
            weight_update({}, at_step(ortho, j), t + j);
            keep_weights();
          }
        } else {
          for (int64_t j = 0; j < n; ++j) {
            const auto Gj = at_step(G, j);
            momentum_update(Gj, t + j);
            weight_update(Gj, {}, t + j);
            keep_weights();
          }
        }
        FastWeights materialised;
        for (size_t m = 0; m < M; ++m) materialised.push_back(torch::stack(per_step_weights[m], 1));  // [N, n, r, c]
        reads.push_back(memory.read(materialised, queries));  // read after write
      }
    } else {
      reads.push_back(memory.read(state.weights, queries));  // the state before this block's step
      if ((pos + n) % cfg.chunk == 0) {
        // The block is complete: one step on its window (the last `span` tokens), gates of its last token.
        const int64_t first = std::max<int64_t>(0, n_carry + n - span);
        auto in_window = (torch::arange(n_carry + n, gamma.options().dtype(torch::kLong)) >= first).to(gamma.dtype());
        auto weight = (gamma * in_window).unsqueeze(1);  // [N, 1, n_window]
        auto G3 = windowed_gradients(memory.gradient_factors(state.reference, window), weight);
        std::vector<torch::Tensor> G;
        for (auto& g : G3) G.push_back(g.select(1, 0));
        momentum_update(G, t + n - 1);
        std::vector<torch::Tensor> ortho;
        if (cfg.optimizer == InnerOptimizer::kMuon)
          for (size_t m = 0; m < M; ++m) ortho.push_back(newton_schulz(state.momentum[m], cfg.ns_steps));
        weight_update(G, ortho, t + n - 1);
      }
    }

    // Keep the last span − 1 key tokens for the windows of later steps.
    const int64_t keep = std::min<int64_t>(span - 1, n_carry + n);
    state.carry = slice(window, n_carry + n - keep, keep);
    state.carry_gamma = gamma.narrow(1, n_carry + n - keep, keep);
    t += n;
  }
  state.position += T;
  return torch::cat(reads, 1);
}

}  // namespace engram
