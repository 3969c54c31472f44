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

}  // namespace engram
