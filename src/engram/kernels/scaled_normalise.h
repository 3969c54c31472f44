// The mosaic's key, query and value normalisation,
//
//   y[..., h, :] = s[h] · x[..., h, :] / (‖x[..., h, :]‖ + eps),
//
// as one pass over x forward and one backward on CPU float tensors. As a LibTorch composition
// (norm, add, divide, multiply) it takes four element-wise passes through memory forward and about
// twice as many backward, for every key, query and value tensor of every block. Elsewhere, and
// when softmax_read's composition path is chosen (kernels/softmax_read.h, the one switch), it runs
// as that composition, which is also the reference it is tested against.
#pragma once

#include <torch/torch.h>

namespace engram {

// x [..., H, dh], s [H] -> [..., H, dh]. Gradients reach x and s, once: the
// kernel's hand-written backward is not itself differentiable (no create_graph through it).
torch::Tensor scaled_normalise(const torch::Tensor& x, const torch::Tensor& s, double eps);

}  // namespace engram
