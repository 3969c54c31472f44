// One AdamW step of one parameter tensor (decoupled weight decay, bias-corrected moments):
//
//   p ← p·(1 − lr·wd);  m ← β₁m + (1 − β₁)g;  v ← β₂v + (1 − β₂)g²;
//   p ← p − (lr / bc₁) · m / (√(v / bc₂) + eps)
//
// as one pass over p, g, m and v on CPU float tensors. As LibTorch operations (mul_, add_, addcmul_,
// div, sqrt_, add_, addcdiv_) it is about nine passes through memory per parameter, which at the
// reference mosaic's 4.5 M parameters was about a twentieth of a training step. Elsewhere, and
// when softmax_read's composition path is chosen (kernels/softmax_read.h, the one switch), it runs
// as those operations.
#pragma once

#include <torch/torch.h>

namespace engram {

struct AdamWUpdate {
  double lr;            // this parameter's learning rate
  double weight_decay;  // 0 for parameters that are not decayed
  double beta1, beta2, eps;
  double bc1, bc2;  // 1 − β₁ᵗ, 1 − β₂ᵗ
};

// Updates param, exp_avg and exp_avg_sq in place (no autograd).
void adamw_update(torch::Tensor& param, const torch::Tensor& grad, torch::Tensor& exp_avg, torch::Tensor& exp_avg_sq,
                  const AdamWUpdate& u);

}  // namespace engram
