#include "engram/seq/slot_read.h"

#include <ATen/Parallel.h>

#include <algorithm>

#include "engram/core/error.h"

namespace engram {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// murmur3's 32-bit finaliser: a cheap, well-mixed hash that the compiler vectorises.
inline uint32_t mix(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

struct Mask {
  uint64_t seed;
  uint32_t threshold;  // a weight is dropped when its hash falls below p·2³²
  float scale;         // 1 / (1 − p) on the kept weights

  Mask(uint64_t s, double p)
      : seed(s), threshold(static_cast<uint32_t>(std::min(p * 4294967296.0, 4294967295.0))), scale(1.0f / (1.0f - p)) {}

  uint32_t row_key(int64_t row) const {
    return mix(static_cast<uint32_t>(seed) ^ mix(static_cast<uint32_t>(seed >> 32) + static_cast<uint32_t>(row)));
  }

  // dst[r, c] = keep(r, c) ? src[r, c]·scale : 0 over a contiguous [rows, cols] block; dst may be src.
  void apply(const float* src, float* dst, int64_t rows, int64_t cols) const {
    at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const uint32_t key = row_key(r);
        const float* s = src + r * cols;
        float* d = dst + r * cols;
        // Branch-free so that the compiler vectorises the hash and the select.
        for (int64_t c = 0; c < cols; ++c) {
          const uint32_t h = mix(key + static_cast<uint32_t>(c) * 0x9e3779b1u);
          d[c] = s[c] * (h >= threshold ? scale : 0.0f);
        }
      }
    });
  }
};

struct SlotRead : public torch::autograd::Function<SlotRead> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& keys,
                               const torch::Tensor& values, double dropout, int64_t seed) {
    auto w = torch::bmm(q, keys.transpose(1, 2));  // [H, N, P]
    at::_softmax_out(w, w, -1, false);
    auto read = w;
    if (dropout > 0) {
      read = torch::empty_like(w);
      Mask(seed, dropout).apply(w.data_ptr<float>(), read.data_ptr<float>(), w.size(0) * w.size(1), w.size(2));
    }
    ctx->save_for_backward({q, keys, values, w});
    ctx->saved_data["dropout"] = dropout;
    ctx->saved_data["seed"] = seed;
    return torch::bmm(read, values);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &keys = saved[1], &values = saved[2], &w = saved[3];
    const double dropout = ctx->saved_data["dropout"].toDouble();
    const auto dy = grads[0].contiguous();
    auto dw = torch::bmm(dy, values.transpose(1, 2));  // ∂L/∂(dropped weights)
    auto read = w;
    if (dropout > 0) {
      const Mask mask(ctx->saved_data["seed"].toInt(), dropout);
      const int64_t rows = w.size(0) * w.size(1), cols = w.size(2);
      read = torch::empty_like(w);
      mask.apply(w.data_ptr<float>(), read.data_ptr<float>(), rows, cols);
      mask.apply(dw.data_ptr<float>(), dw.data_ptr<float>(), rows, cols);
    }
    auto d_values = torch::bmm(read.transpose(1, 2), dy);
    at::_softmax_backward_data_out(dw, dw, w, -1, torch::kFloat);  // now ∂L/∂scores
    auto d_q = torch::bmm(dw, keys);
    auto d_keys = torch::bmm(dw.transpose(1, 2), q);
    return {d_q, d_keys, d_values, torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor slot_read(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& values, double dropout,
                        uint64_t seed) {
  for (const auto* t : {&q, &keys, &values})
    if (t->dim() != 3 || !t->device().is_cpu() || t->scalar_type() != torch::kFloat)
      throw Error("slot_read: expects float CPU tensors [H, N, D] and [H, P, D]");
  if (!(dropout >= 0 && dropout < 1)) throw Error("slot_read: dropout must be in [0, 1)");
  return SlotRead::apply(q.contiguous(), keys.contiguous(), values.contiguous(), dropout,
                         static_cast<int64_t>(seed));
}

torch::Tensor slot_dropout_keep(uint64_t seed, double dropout, at::IntArrayRef sizes) {
  auto ones = torch::ones(sizes, torch::kFloat);
  auto keep = torch::empty_like(ones);
  const int64_t cols = sizes.back();
  Mask(seed, dropout).apply(ones.data_ptr<float>(), keep.data_ptr<float>(), ones.numel() / cols, cols);
  return keep.gt(0).to(torch::kFloat);
}

}  // namespace engram
