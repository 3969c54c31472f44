#include "engram/runtime/ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "engram/kernels/tile_math.h"

namespace engram::ops {

using tile::dot;
using tile::hsum;
using tile::load8;
using tile::vec8;

namespace {

constexpr float kGeluK = 0.7978845608028654f;  // √(2/π)
constexpr float kGeluC = 0.044715f;

ENGRAM_TILE_INLINE vec8 gelu8(vec8 x) { return 0.5f * x * (1.0f + tile::tanh(kGeluK * (x + kGeluC * x * x * x))); }

ENGRAM_TILE_INLINE vec8 gelu_grad8(vec8 x) {
  const vec8 t = tile::tanh(kGeluK * (x + kGeluC * x * x * x));
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * kGeluK * (1.0f + 3.0f * kGeluC * x * x);
}

// The last n % 8 values through an 8-wide register, padded with zeros.
ENGRAM_TILE_INLINE vec8 load_tail(const float* x, int64_t n) {
  float buffer[8] = {};
  std::copy_n(x, n, buffer);
  return load8(buffer);
}

ENGRAM_TILE_INLINE void store_tail(float* y, vec8 v, int64_t n) {
  float buffer[8];
  tile::store8(buffer, v);
  std::copy_n(buffer, n, y);
}

}  // namespace

ENGRAM_SIMD_CLONES
void matvec(const float* W, const float* b, const float* x, float* y, int64_t out, int64_t in) {
  int64_t o = 0;
  // Four rows at a time: each load of x serves four weight rows.
  for (; o + 4 <= out; o += 4) {
    const float *w0 = W + o * in, *w1 = w0 + in, *w2 = w1 + in, *w3 = w2 + in;
    vec8 a0 = {}, a1 = {}, a2 = {}, a3 = {};
    int64_t i = 0;
    for (; i + 8 <= in; i += 8) {
      const vec8 xv = load8(x + i);
      a0 += load8(w0 + i) * xv;
      a1 += load8(w1 + i) * xv;
      a2 += load8(w2 + i) * xv;
      a3 += load8(w3 + i) * xv;
    }
    float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (; i < in; ++i) {
      s0 += w0[i] * x[i];
      s1 += w1[i] * x[i];
      s2 += w2[i] * x[i];
      s3 += w3[i] * x[i];
    }
    y[o] = s0;
    y[o + 1] = s1;
    y[o + 2] = s2;
    y[o + 3] = s3;
  }
  for (; o < out; ++o) y[o] = dot(W + o * in, x, in);
  if (b)
    for (int64_t k = 0; k < out; ++k) y[k] += b[k];
}

ENGRAM_SIMD_CLONES
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
  float mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<float>(n);
  float var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float inv = 1.0f / std::sqrt(var / static_cast<float>(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - mean) * inv * w[i] + (b ? b[i] : 0.0f);
}

ENGRAM_SIMD_CLONES
void gelu_tanh(const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) tile::store8(y + i, gelu8(load8(x + i)));
  if (i < n) store_tail(y + i, gelu8(load_tail(x + i, n - i)), n - i);
}

ENGRAM_SIMD_CLONES
void times_gelu_tanh_grad(const float* x, float* d, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) tile::store8(d + i, load8(d + i) * gelu_grad8(load8(x + i)));
  if (i < n) store_tail(d + i, load_tail(d + i, n - i) * gelu_grad8(load_tail(x + i, n - i)), n - i);
}

ENGRAM_SIMD_CLONES
void add(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

ENGRAM_SIMD_CLONES
float sum_squares(const float* x, int64_t n) { return dot(x, x, n); }

ENGRAM_SIMD_CLONES
void softmax_read_one(const float* q, const float* K, int64_t ldk, const float* V, int64_t ldv, int64_t count,
                      int64_t d, int64_t dv, float scale, float* scores, float* y) {
  std::fill_n(y, dv, 0.0f);
  if (count == 0) return;
  float m = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < count; ++j) {
    scores[j] = scale * dot(q, K + j * ldk, d);
    m = std::max(m, scores[j]);
  }
  // the exponentials eight at a time (the slot read has a thousand of them per head)
  vec8 acc = {};
  int64_t j = 0;
  for (; j + 8 <= count; j += 8) {
    const vec8 e = tile::exp_nonpositive(load8(scores + j) - m);
    tile::store8(scores + j, e);
    acc += e;
  }
  float sum = hsum(acc);
  for (; j < count; ++j) {
    scores[j] = tile::exp_nonpositive(scores[j] - m);
    sum += scores[j];
  }
  const float inv = 1.0f / sum;
  for (int64_t j = 0; j < count; ++j) {
    const float w = scores[j] * inv;
    const float* v = V + j * ldv;
    for (int64_t e = 0; e < dv; ++e) y[e] += w * v[e];
  }
}

}  // namespace engram::ops
