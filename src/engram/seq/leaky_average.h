// The leaky average of Memory Mosaics' key extractor, per head h and channel:
//
//   k̄_t = Σ_{s≤t} λ_h^{t−s} x_s   ⇔   k̄_t = x_t + λ_h k̄_{t−1},  k̄_{−1} = 0.
//
// Two implementations with the same autograd semantics (gradients reach x and λ):
// the O(T) scan, used by the model, and the O(T²) matrix form, kept as the test reference.
#pragma once

#include <torch/torch.h>

namespace engram {

// x [B, T, H, D], lambda [H] (in (0, 1)) -> [B, T, H, D]. O(B·T·H·D) time and memory: a forward
// recurrence and, for the backward, the reverse recurrence g_t = ∂L/∂k̄_t + λ g_{t+1} with
// ∂L/∂λ = Σ_t g_t · k̄_{t−1}. CPU float/double only in the scan; other devices use the matrix form.
torch::Tensor leaky_average_scan(const torch::Tensor& x, const torch::Tensor& lambda);

// The same through a [H, T, T] decay matrix D[h,t,s] = λ_h^{t−s}·[s ≤ t]; O(T²) per head.
torch::Tensor leaky_average_matrix(const torch::Tensor& x, const torch::Tensor& lambda);

}  // namespace engram
