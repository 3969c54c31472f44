// Per-row cross-entropy of logits against target ids, the language models' loss:
//
//   loss[i] = logsumexp(logits[i, :]) − logits[i, targets[i]],
//
// forward in one pass per row (keeping each row's log-sum-exp) and the backward, softmax − one-hot,
// in one more, on CPU float tensors. LibTorch's cross_entropy goes through log_softmax, its
// backward, and nll_loss's backward, which zeroes a gradient as large as the logits before
// scattering into it: at the reference mosaic's 2,048 × 4,096 logits those passes took about a
// tenth of a training step. Elsewhere, and when softmax_read's composition path is chosen
// (kernels/softmax_read.h, the one switch), it runs as LibTorch's cross_entropy, which is also the
// reference it is tested against.
#pragma once

#include <torch/torch.h>

namespace engram {

// logits [N, V] (float), targets [N] (int64) -> [N]. A target of −100 (LibTorch's ignore index)
// gives loss 0 and no gradient; any other id outside [0, V) is an error naming it. Differentiable
// once: the kernel's hand-written backward is not itself differentiable.
torch::Tensor cross_entropy_rows(const torch::Tensor& logits, const torch::Tensor& targets);

// The language models' training loss straight from the last hidden states: the weighted mean of
// cross_entropy_rows over the logits scale · h · weightᵀ,
//
//   loss = Σ_i w_i · loss[i] / Σ_i w_i,   w = row_weights (the sum taken as at least 1), or all 1,
//
// a block of rows at a time, so that the [N, V] logits never exist whole: at the reference mosaic
// they are 32 MB, written by the head's product, read by the loss, written again as their gradient
// and read by the two products of the backward — a fifth of a training step. When a gradient is
// needed, each block's gradient is formed while the block is in cache and passed on through the
// head's weight at once; the forward keeps dh and dweight and the backward only scales them.
// h [N, D] and weight [V, D] (float; weight is often the tied embedding), targets [N] (int64, −100
// ignored as above), row_weights [N] (float, not differentiated) or undefined -> a scalar,
// differentiable once (the saved gradients are constants to a second backward). Runs as the composition
// (LibTorch's matmul and cross_entropy, the reference it is tested against) where cross_entropy_rows does.
torch::Tensor linear_cross_entropy(const torch::Tensor& h, const torch::Tensor& weight, double scale,
                                   const torch::Tensor& targets, const torch::Tensor& row_weights = {});

}  // namespace engram
