// The arithmetic of batch-1 inference on raw float buffers: no tensors, no dispatcher, no
// allocation. Each function is compiled for the baseline, AVX2 and AVX-512 and picked at load time.
// Row-major throughout; n is a length, not a byte count.
#pragma once

#include <cstdint>

namespace engram::ops {

// y[o] = Σ_i W[o, i] x[i] (+ b[o] when b is not null), W [out, in]. y must not alias x.
void matvec(const float* W, const float* b, const float* x, float* y, int64_t out, int64_t in);

// y = LayerNorm(x) with gain w and (when not null) bias b, over n values. y may alias x.
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps);

// y = GELU(x) with the tanh approximation (GPT-2's, torch::gelu(x, "tanh")); y may alias x.
void gelu_tanh(const float* x, float* y, int64_t n);

// d = d ⊙ GELU'(x), the tanh approximation's derivative (for a vector–Jacobian product).
void times_gelu_tanh_grad(const float* x, float* d, int64_t n);

// x = x + y
void add(float* x, const float* y, int64_t n);

// Nadaraya–Watson / attention read of one query against `count` rows: w = softmax(scale · K q),
// y = Σ_j w_j V[j]. K [count, d] and V [count, dv] with row strides ldk and ldv; `scores` is
// scratch of `count` floats. count may be 0 (then y = 0).
void softmax_read_one(const float* q, const float* K, int64_t ldk, const float* V, int64_t ldv, int64_t count,
                      int64_t d, int64_t dv, float scale, float* scores, float* y);

// Σ_i x[i]² (for L2 norms)
float sum_squares(const float* x, int64_t n);

}  // namespace engram::ops
