#include "engram/kernels/softmax_read.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <vector>

#include "engram/core/error.h"
#include "engram/kernels/tile_math.h"

namespace engram {
namespace {

using tile::kCols;
using tile::round_up;

std::atomic<ReadPath> g_path{ReadPath::kBlocked};

// Query rows and keys per block: a block's scores (32 × 64 floats), its queries and the key
// block's columns stay in the first-level cache while they meet.
constexpr int64_t kBlockRows = 32;
constexpr int64_t kBlockKeys = 64;
static_assert(kBlockRows % tile::kRows == 0 && kBlockKeys % kCols == 0, "blocks must hold whole tiles");

struct Problem {
  int64_t G, N, S, D, Dv;
  float scale;
  bool causal;
  int64_t shift;
  tile::DropoutMask mask;
  int64_t chunks;  // row ranges per group, so that groups × chunks keeps every thread busy

  // How many keys (a prefix 0 … n−1) query row i sees.
  int64_t visible(int64_t i) const { return causal ? std::clamp<int64_t>(i + shift + 1, 0, S) : S; }
  // The query rows of chunk c of a group: [first, last).
  std::pair<int64_t, int64_t> rows(int64_t c) const {
    const int64_t blocks = (N + kBlockRows - 1) / kBlockRows;
    return {std::min(N, c * blocks / chunks * kBlockRows), std::min(N, (c + 1) * blocks / chunks * kBlockRows)};
  }
};

// Per-thread scratch, reused across the row ranges one thread handles.
struct Scratch {
  std::vector<float> kt, kp, vp, vt, q, dout, s, dp, acc, dq, dk, dv;
  float m[kBlockRows], l[kBlockRows], lse[kBlockRows], delta[kBlockRows];
};

void zero(std::vector<float>& b, int64_t n) { b.assign(static_cast<size_t>(n), 0.0f); }

// rows [r, r + n) of an [*, width] matrix into a [kBlockRows, ld] block, zero elsewhere
void pack_rows(const float* src, int64_t n, int64_t width, std::vector<float>& dst, int64_t ld) {
  zero(dst, kBlockRows * ld);
  for (int64_t r = 0; r < n; ++r) std::copy_n(src + r * width, width, dst.data() + r * ld);
}

// Keys 0 … n−1 of an [n, width] matrix, transposed one key block at a time: block b is a
// [width, kBlockKeys] matrix at dst + b·width·kBlockKeys, zero beyond key n. One [width, S]
// transpose would give the score product a row stride of S floats, and at S = 1,024 (4 KB) every
// row of a key block falls into the same first-level cache sets: the product ran at half speed.
void pack_key_blocks(const float* src, int64_t n, int64_t width, std::vector<float>& dst) {
  const int64_t blocks = (n + kBlockKeys - 1) / kBlockKeys;
  zero(dst, std::max<int64_t>(blocks, 1) * width * kBlockKeys);
  for (int64_t b = 0; b < blocks; ++b)
    tile::transpose(std::min(kBlockKeys, n - b * kBlockKeys), width, src + b * kBlockKeys * width, width,
                    dst.data() + b * width * kBlockKeys, kBlockKeys);
}

using tile::kLanes;
using tile::load;
using tile::store;

// lanes j … j + lanes − 1 that lie below `seen`
template <class V>
ENGRAM_TILE_INLINE tile::IntsOf<V> below(int64_t j, int64_t seen) {
  return tile::lanes<V>() + static_cast<int32_t>(j) < static_cast<int32_t>(seen);
}

// max over j < seen of scale·s[j]; width a multiple of the lanes
template <class V>
ENGRAM_TILE_INLINE float max_scaled(const float* s, int64_t seen, int64_t width, float scale) {
  const V none = V{} - std::numeric_limits<float>::infinity();
  V mx = none;
  for (int64_t j = 0; j < width; j += kLanes<V>) {
    const V v = below<V>(j, seen) ? load<V>(s + j) * scale : none;
    mx = mx > v ? mx : v;
  }
  float m = mx[0];
  for (int i = 1; i < kLanes<V>; ++i) m = std::max(m, mx[i]);
  return m;
}

// s[j] = exp(scale·s[j] − m) for j < seen, 0 up to width; returns the sum
template <class V>
ENGRAM_TILE_INLINE float exp_row(float* s, int64_t seen, int64_t width, float scale, float m) {
  V sum = {};
  for (int64_t j = 0; j < width; j += kLanes<V>) {
    const V e = tile::exp_nonpositive(load<V>(s + j) * scale - m);
    const V v = below<V>(j, seen) ? e : V{};
    store<V>(s + j, v);
    sum += v;
  }
  return tile::hsum(sum);
}

template <class V>
ENGRAM_TILE_INLINE void forward_rows_as(const Problem& p, const float* q, const float* k, const float* v, float* out,
                                        float* lse, int64_t g, int64_t first, int64_t last, Scratch& w) {
  const int64_t D = p.D, Dv = p.Dv, Dvp = round_up(Dv, kCols);
  const int64_t keys = p.visible(last - 1), Sp = round_up(std::max<int64_t>(keys, 1), kCols);
  const float* kg = k + g * p.S * D;
  const float* vg = v + g * p.S * Dv;
  pack_key_blocks(kg, keys, D, w.kt);
  zero(w.vp, Sp * Dvp);
  for (int64_t j = 0; j < keys; ++j) std::copy_n(vg + j * Dv, Dv, w.vp.data() + j * Dvp);

  for (int64_t i0 = first; i0 < last; i0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, last - i0);
    pack_rows(q + (g * p.N + i0) * D, rows, D, w.q, D);
    zero(w.acc, kBlockRows * Dvp);
    std::fill_n(w.m, kBlockRows, -std::numeric_limits<float>::infinity());
    std::fill_n(w.l, kBlockRows, 0.0f);
    const int64_t block_keys = p.visible(i0 + rows - 1);
    for (int64_t j0 = 0; j0 < block_keys; j0 += kBlockKeys) {
      const int64_t bc = std::min(kBlockKeys, block_keys - j0), bcp = round_up(bc, kCols);
      zero(w.s, kBlockRows * kBlockKeys);
      tile::gemm_acc<V>(kBlockRows, bcp, D, w.q.data(), D, w.kt.data() + j0 * D, kBlockKeys, w.s.data(), kBlockKeys);
      for (int64_t r = 0; r < kBlockRows; ++r) {
        float* s = w.s.data() + r * kBlockKeys;
        const int64_t seen = r < rows ? std::clamp<int64_t>(p.visible(i0 + r) - j0, 0, bc) : 0;
        if (seen == 0) {
          std::fill_n(s, bcp, 0.0f);
          continue;
        }
        const float m = std::max(w.m[r], max_scaled<V>(s, seen, bcp, p.scale));
        const float correction = w.l[r] > 0 ? tile::exp_nonpositive(w.m[r] - m) : 0.0f;
        w.l[r] = w.l[r] * correction + exp_row<V>(s, seen, bcp, p.scale, m);
        w.m[r] = m;
        if (correction != 1.0f)
          for (int64_t d = 0; d < Dvp; ++d) w.acc[r * Dvp + d] *= correction;
        if (p.mask.active) {
          const uint32_t key = p.mask.row_key(g * p.N + i0 + r);
          for (int64_t j = 0; j < bcp; j += kLanes<V>)
            store<V>(s + j, load<V>(s + j) * p.mask.factors<V>(key, j0 + j));
        }
      }
      tile::gemm_acc<V>(kBlockRows, Dvp, bcp, w.s.data(), kBlockKeys, w.vp.data() + j0 * Dvp, Dvp, w.acc.data(), Dvp);
    }
    for (int64_t r = 0; r < rows; ++r) {
      float* o = out + (g * p.N + i0 + r) * Dv;
      const float inv = w.l[r] > 0 ? 1.0f / w.l[r] : 0.0f;
      for (int64_t d = 0; d < Dv; ++d) o[d] = w.acc[r * Dvp + d] * inv;
      lse[g * p.N + i0 + r] = w.l[r] > 0 ? w.m[r] + std::log(w.l[r]) : 0.0f;
    }
  }
}

ENGRAM_PER_ISA(forward_rows,
               (const Problem& p, const float* q, const float* k, const float* v, float* out, float* lse, int64_t g,
                int64_t first, int64_t last, Scratch& w),
               (p, q, k, v, out, lse, g, first, last, w))

// Gradients of rows [first, last) of group g: dq for those rows, and this range's share of dk and
// dv written to its own slice (dk_part, dv_part: [chunks, G, S, D]).
template <class V>
ENGRAM_TILE_INLINE void backward_rows_as(const Problem& p, const float* q, const float* k, const float* v,
                                         const float* out, const float* lse, const float* dout, float* dq,
                                         float* dk_part, float* dv_part, int64_t g, int64_t chunk, int64_t first,
                                         int64_t last, Scratch& w) {
  const int64_t D = p.D, Dv = p.Dv, Dp = round_up(D, kCols), Dvp = round_up(Dv, kCols);
  const int64_t keys = p.visible(last - 1), Sp = round_up(std::max<int64_t>(keys, 1), kCols);
  const float* kg = k + g * p.S * D;
  const float* vg = v + g * p.S * Dv;
  pack_key_blocks(kg, keys, D, w.kt);
  pack_key_blocks(vg, keys, Dv, w.vt);
  zero(w.kp, Sp * Dp);
  for (int64_t j = 0; j < keys; ++j) std::copy_n(kg + j * D, D, w.kp.data() + j * Dp);
  zero(w.dk, Sp * Dp);
  zero(w.dv, Sp * Dvp);

  for (int64_t i0 = first; i0 < last; i0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, last - i0), base = g * p.N + i0;
    pack_rows(q + base * D, rows, D, w.q, Dp);
    pack_rows(dout + base * Dv, rows, Dv, w.dout, Dvp);
    zero(w.dq, kBlockRows * Dp);
    // Padding rows (r ≥ rows) get weight 0, but 0 × a leftover NaN is NaN: their terms must be set.
    std::fill_n(w.delta, kBlockRows, 0.0f);
    std::fill_n(w.lse, kBlockRows, 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      float delta = 0;  // Σ_d dO·O = Σ_j P·dP: the softmax backward's row term, dropout included
      for (int64_t d = 0; d < Dv; ++d) delta += dout[(base + r) * Dv + d] * out[(base + r) * Dv + d];
      w.delta[r] = delta;
      w.lse[r] = lse[base + r];
    }
    const int64_t block_keys = p.visible(i0 + rows - 1);
    for (int64_t j0 = 0; j0 < block_keys; j0 += kBlockKeys) {
      const int64_t bc = std::min(kBlockKeys, block_keys - j0), bcp = round_up(bc, kCols);
      zero(w.s, kBlockRows * kBlockKeys);
      zero(w.dp, kBlockRows * kBlockKeys);
      tile::gemm_acc<V>(kBlockRows, bcp, D, w.q.data(), Dp, w.kt.data() + j0 * D, kBlockKeys, w.s.data(), kBlockKeys);
      tile::gemm_acc<V>(kBlockRows, bcp, Dv, w.dout.data(), Dvp, w.vt.data() + j0 * Dv, kBlockKeys, w.dp.data(), kBlockKeys);
      for (int64_t r = 0; r < kBlockRows; ++r) {
        float* s = w.s.data() + r * kBlockKeys;  // becomes the dropped weights P·z
        float* dp = w.dp.data() + r * kBlockKeys;  // becomes ∂L/∂scores
        const int64_t seen = r < rows ? std::clamp<int64_t>(p.visible(i0 + r) - j0, 0, bc) : 0;
        const uint32_t key = p.mask.active && seen > 0 ? p.mask.row_key(base + r) : 0;
        for (int64_t j = 0; j < bcp; j += kLanes<V>) {
          const V e = tile::exp_nonpositive(load<V>(s + j) * p.scale - w.lse[r]);
          const V weight = below<V>(j, seen) ? e : V{};
          const V z = p.mask.active ? p.mask.factors<V>(key, j0 + j) : V{} + 1.0f;
          store<V>(s + j, weight * z);
          store<V>(dp + j, weight * (load<V>(dp + j) * z - w.delta[r]) * p.scale);
        }
      }
      tile::gemm_acc<V>(kBlockRows, Dp, bcp, w.dp.data(), kBlockKeys, w.kp.data() + j0 * Dp, Dp, w.dq.data(), Dp);
      tile::gemm_tn_acc<V>(bcp, Dp, kBlockRows, w.dp.data(), kBlockKeys, w.q.data(), Dp, w.dk.data() + j0 * Dp, Dp);
      tile::gemm_tn_acc<V>(bcp, Dvp, kBlockRows, w.s.data(), kBlockKeys, w.dout.data(), Dvp, w.dv.data() + j0 * Dvp, Dvp);
    }
    for (int64_t r = 0; r < rows; ++r) std::copy_n(w.dq.data() + r * Dp, D, dq + (base + r) * D);
  }
  float* dk = dk_part + (chunk * p.G + g) * p.S * D;
  float* dv = dv_part + (chunk * p.G + g) * p.S * Dv;
  for (int64_t j = 0; j < keys; ++j) {
    std::copy_n(w.dk.data() + j * Dp, D, dk + j * D);
    std::copy_n(w.dv.data() + j * Dvp, Dv, dv + j * Dv);
  }
  std::fill(dk + keys * D, dk + p.S * D, 0.0f);
  std::fill(dv + keys * Dv, dv + p.S * Dv, 0.0f);
}

ENGRAM_PER_ISA(backward_rows,
               (const Problem& p, const float* q, const float* k, const float* v, const float* out, const float* lse,
                const float* dout, float* dq, float* dk_part, float* dv_part, int64_t g, int64_t chunk,
                int64_t first, int64_t last, Scratch& w),
               (p, q, k, v, out, lse, dout, dq, dk_part, dv_part, g, chunk, first, last, w))

template <class F>
void for_each_range(const Problem& p, F&& body) {
  at::parallel_for(0, p.G * p.chunks, 1, [&](int64_t begin, int64_t end) {
    Scratch w;
    for (int64_t t = begin; t < end; ++t) {
      const int64_t g = t / p.chunks, c = t % p.chunks;
      const auto [first, last] = p.rows(c);
      body(g, c, first, last, w);
    }
  });
}

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

Problem problem_of(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const SoftmaxReadOptions& o) {
  Problem p{q.size(0), q.size(1), k.size(1), q.size(2), v.size(2), static_cast<float>(o.scale), o.causal, o.shift,
            tile::DropoutMask(o.seed, o.dropout), 1};
  const int64_t blocks = (p.N + kBlockRows - 1) / kBlockRows;
  const int64_t wanted = (2 * at::get_num_threads() + p.G - 1) / p.G;  // ≥ 2 ranges per thread
  p.chunks = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(blocks, 1));
  return p;
}

SoftmaxReadOptions options_of(AutogradContext* ctx) {
  SoftmaxReadOptions o;
  o.scale = ctx->saved_data["scale"].toDouble();
  o.causal = ctx->saved_data["causal"].toBool();
  o.shift = ctx->saved_data["shift"].toInt();
  o.dropout = ctx->saved_data["dropout"].toDouble();
  o.seed = static_cast<uint64_t>(ctx->saved_data["seed"].toInt());
  return o;
}

struct BlockedRead : public torch::autograd::Function<BlockedRead> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& q, const torch::Tensor& k,
                               const torch::Tensor& v, double scale, bool causal, int64_t shift, double dropout,
                               int64_t seed) {
    const SoftmaxReadOptions o{scale, causal, shift, dropout, static_cast<uint64_t>(seed)};
    const Problem p = problem_of(q, k, v, o);
    auto out = torch::empty({p.G, p.N, p.Dv}, q.options());
    auto lse = torch::empty({p.G, p.N}, q.options());
    const float *qd = q.data_ptr<float>(), *kd = k.data_ptr<float>(), *vd = v.data_ptr<float>();
    float *od = out.data_ptr<float>(), *ld = lse.data_ptr<float>();
    for_each_range(p, [&](int64_t g, int64_t, int64_t first, int64_t last, Scratch& w) {
      forward_rows(p, qd, kd, vd, od, ld, g, first, last, w);
    });
    ctx->save_for_backward({q, k, v, out, lse});
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["causal"] = causal;
    ctx->saved_data["shift"] = shift;
    ctx->saved_data["dropout"] = dropout;
    ctx->saved_data["seed"] = seed;
    return out;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &q = saved[0], &k = saved[1], &v = saved[2], &out = saved[3], &lse = saved[4];
    const Problem p = problem_of(q, k, v, options_of(ctx));
    const auto dout = grads[0].contiguous();
    auto dq = torch::empty_like(q);
    // Uninitialised: every range is non-empty (problem_of gives each at least one row block) and
    // backward_rows writes its whole slice, zero for the keys its rows do not see.
    const auto alloc = [&](int64_t width) { return torch::empty({p.chunks, p.G, p.S, width}, q.options()); };
    auto dk = alloc(p.D), dv = alloc(p.Dv);
    const float *qd = q.data_ptr<float>(), *kd = k.data_ptr<float>(), *vd = v.data_ptr<float>();
    const float *od = out.data_ptr<float>(), *ld = lse.data_ptr<float>(), *gd = dout.data_ptr<float>();
    float *dqd = dq.data_ptr<float>(), *dkd = dk.data_ptr<float>(), *dvd = dv.data_ptr<float>();
    for_each_range(p, [&](int64_t g, int64_t c, int64_t first, int64_t last, Scratch& w) {
      backward_rows(p, qd, kd, vd, od, ld, gd, dqd, dkd, dvd, g, c, first, last, w);
    });
    return {dq, p.chunks == 1 ? dk[0] : dk.sum(0), p.chunks == 1 ? dv[0] : dv.sum(0), torch::Tensor(),
            torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// The reference: LibTorch operations, the [G, N, S] weights materialised. Rows that see no key
// are left out of the softmax and read 0.
torch::Tensor composition(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const SoftmaxReadOptions& o) {
  const int64_t G = q.size(0), N = q.size(1), S = k.size(1);
  const int64_t blind = o.causal ? std::clamp<int64_t>(-o.shift, 0, N) : 0;
  if (blind == N || S == 0) return torch::zeros({G, N, v.size(2)}, q.options());
  auto qs = q.narrow(1, blind, N - blind);
  auto w = torch::matmul(qs, k.transpose(1, 2)).mul_(o.scale);
  if (o.causal) {
    auto opts = torch::TensorOptions().device(q.device());
    auto row = torch::arange(blind, N, opts.dtype(torch::kLong)).unsqueeze(1);
    auto col = torch::arange(0, S, opts.dtype(torch::kLong)).unsqueeze(0);
    w.masked_fill_(col > row + o.shift, -std::numeric_limits<double>::infinity());
  }
  w = torch::softmax(w, -1);
  if (o.dropout > 0) {
    auto keep = softmax_read_keep(o.seed, o.dropout, {G, N, S}).narrow(1, blind, N - blind);
    w = w * keep.to(w.options()) / (1.0 - o.dropout);
  }
  auto y = torch::matmul(w, v);
  if (blind == 0) return y;
  return torch::cat({torch::zeros({G, blind, v.size(2)}, q.options()), y}, 1);
}

}  // namespace

void set_read_path(ReadPath path) { g_path = path; }
ReadPath read_path() { return g_path; }

torch::Tensor softmax_read(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           const SoftmaxReadOptions& o) {
  if (q.dim() != 3 || k.dim() != 3 || v.dim() != 3)
    throw Error("softmax_read: expects q [G, N, D], k [G, S, D], v [G, S, Dv]");
  if (k.size(0) != q.size(0) || v.size(0) != q.size(0) || k.size(2) != q.size(2) || v.size(1) != k.size(1))
    throw Error("softmax_read: shapes q " + std::to_string(q.size(0)) + "x" + std::to_string(q.size(1)) + "x" +
                std::to_string(q.size(2)) + ", k " + std::to_string(k.size(0)) + "x" + std::to_string(k.size(1)) +
                "x" + std::to_string(k.size(2)) + ", v " + std::to_string(v.size(0)) + "x" +
                std::to_string(v.size(1)) + "x" + std::to_string(v.size(2)) + " do not fit together");
  if (!(o.dropout >= 0 && o.dropout < 1)) throw Error("softmax_read: dropout must be in [0, 1)");
  const bool kernel = g_path == ReadPath::kBlocked && q.device().is_cpu() && q.scalar_type() == torch::kFloat &&
                      k.scalar_type() == torch::kFloat && v.scalar_type() == torch::kFloat && k.size(1) > 0 &&
                      q.size(1) > 0;
  if (!kernel) return composition(q, k, v, o);
  return BlockedRead::apply(q.contiguous(), k.contiguous(), v.contiguous(), o.scale, o.causal, o.shift, o.dropout,
                            static_cast<int64_t>(o.seed));
}

torch::Tensor softmax_read_keep(uint64_t seed, double dropout, at::IntArrayRef sizes) {
  auto keep = torch::empty(sizes, torch::kFloat);
  const int64_t cols = sizes.back(), rows = keep.numel() / std::max<int64_t>(cols, 1);
  const tile::DropoutMask mask(seed, dropout);
  float* d = keep.data_ptr<float>();
  at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const uint32_t key = mask.row_key(r);
      for (int64_t c = 0; c < cols; ++c) d[r * cols + c] = mask.factor(key, c) > 0 ? 1.0f : 0.0f;
    }
  });
  return keep;
}

}  // namespace engram
