// The contextual memory's values, which look one step ahead (memory-mosaics spec §2):
//
//   m[b, t, h] = (1 − γ[h]) · x[b, t + 1, h] + γ[h] · x[b, t, h]     (x[b, T] = 0)
//   y[b, t, h] = a[h] · m / (‖m‖ + eps),
//
// as one pass over x forward and one backward on CPU float tensors. As a LibTorch composition
// (the shifted copy, the two broadcast products and their sum, then the normalisation) its
// backward reduced γ's and a's gradients over non-contiguous broadcast dimensions and took about a
// twentieth of the reference mosaic's training step. Elsewhere, and when softmax_read's
// composition path is chosen (kernels/softmax_read.h, the one switch), it runs as that
// composition, which is also the reference it is tested against.
#pragma once

#include <torch/torch.h>

namespace engram {

// x [B, T, H, dh] (the raw values W_v x), gamma [H] or undefined (γ = 0: a pure shift), a [H]
// -> [B, T, H, dh]. Gradients reach x, gamma and a, once: the kernel's hand-written backward is
// not itself differentiable.
torch::Tensor lookahead_value(const torch::Tensor& x, const torch::Tensor& gamma, const torch::Tensor& a, double eps);

}  // namespace engram
