// Key/query feature maps for test-time-trained memories (ATLAS spec §4.1).
//
// "polynomial" of degree p: every monomial of total degree ≤ p, the degree-j block scaled by
// √a_j with learnable a_j (initialised 1/j!) and each monomial by the square root of its
// multinomial coefficient, so that φ(q)ᵀφ(k) = Σ_j a_j (qᵀk)^j exactly: a truncated, learnable
// Taylor expansion of exp(qᵀk). Output dimension C(d + p, p). Inputs are expected ℓ2-normalised.
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "engram/core/config.h"

namespace engram {

enum class FeatureKind { kIdentity, kPolynomial };  // "identity" | "polynomial"
const Names<FeatureKind>& names_of(FeatureKind);

class FeatureMap : public torch::nn::Module {
 public:
  // degree 1 … 4 (ignored by the identity).
  FeatureMap(FeatureKind kind, int64_t input_dim, int64_t degree);

  torch::Tensor forward(const torch::Tensor& x);  // [..., d] -> [..., output_dim()]
  int64_t output_dim() const { return output_dim_; }
  // The degree-1 block of the output (√a_1 · x) for a residual path; identity: x itself.
  torch::Tensor linear_part(const torch::Tensor& x) const;

  torch::Tensor coefficients;  // √a_j, j = 0 … p (polynomial only)

 private:
  FeatureKind kind_;
  int64_t input_dim_, degree_, output_dim_;
  std::vector<torch::Tensor> index_;   // per degree j ≥ 1: [n_j, j] factor indices (non-decreasing)
  std::vector<torch::Tensor> weight_;  // per degree j ≥ 1: [n_j] √multinomial
};

// C(n, k)
int64_t binomial(int64_t n, int64_t k);

// The monomials of degree j over d inputs in the feature map's order: every non-decreasing index
// tuple, lexicographically, with √(its multinomial coefficient).
struct Monomials {
  std::vector<int64_t> index;  // [count, j], row-major
  std::vector<float> weight;   // [count]
};
Monomials monomials(int64_t d, int64_t j);

}  // namespace engram
