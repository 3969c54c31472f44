// The three-moons model (Memory Mosaics spec §6.1): one contextual associative memory on
// continuous vectors, no embedding, no normalisation, no residual. Keys k_t = W_k x_t, values
// v_t = W_v x_{t+1}, retrieval over strictly earlier pairs with a fixed kernel scale (50), output
// ŷ_t = W_o concat_h(y_t^h), the prediction of x_{t+1}.
//
// Every projection is complex-structured: each 2×2 block is a rotation-scaling [[a, b], [−b, a]],
// so a coordinate pair (sin θ, cos θ) is one complex number and a block can only rotate and scale
// it. The effective weight is re-projected from the raw weight at every forward.
#pragma once

#include <torch/torch.h>

namespace engram {

// The nearest complex-structured matrix: each 2×2 block [[p, q], [r, s]] becomes [[a, b], [−b, a]]
// with a = (p + s)/2, b = (q − r)/2. Square matrices of even size.
torch::Tensor complex_structured(const torch::Tensor& raw);

class ComplexContextMemory : public torch::nn::Module {
 public:
  ComplexContextMemory(int64_t dim, int64_t heads, double kernel_scale = 50.0);

  // x [B, T, dim] -> predictions of the next step [B, T, dim]; position 0 predicts zeros.
  torch::Tensor forward(const torch::Tensor& x);
  // Feeds `context` [B, c, dim] and generates `steps` further steps, each fed back as the next
  // input: [B, steps, dim]. Equal to re-running forward() on the growing prefix, at O(t) per step.
  torch::Tensor generate(const torch::Tensor& context, int64_t steps);

  torch::Tensor W_k() const { return complex_structured(W_k_raw); }
  torch::Tensor W_v() const { return complex_structured(W_v_raw); }
  torch::Tensor W_o() const { return complex_structured(W_o_raw); }
  int64_t heads() const { return heads_; }

  torch::Tensor W_k_raw, W_v_raw, W_o_raw;

 private:
  int64_t dim_, heads_;
  double scale_;
};

// Operator norms of the complex 2×2 blocks of a complex-structured matrix: [dim/2, dim/2].
torch::Tensor complex_block_magnitudes(const torch::Tensor& w);

// How close a non-negative square matrix is to a scaled permutation: the largest share of its
// total mass on one permutation's entries (1 for a permutation, 1/n for a constant matrix).
double permutation_score(const torch::Tensor& magnitudes);

}  // namespace engram
