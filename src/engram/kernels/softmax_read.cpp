#include "engram/kernels/softmax_read.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <numeric>
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

// Where row i of group g lies in a tensor seen as [B, H, rows, width] with any strides but a
// contiguous last dimension (a 3-D [G, rows, width] tensor is the case B = 1). The models' heads
// are views of [B, T, H, dh] activations, so the read takes them as they are: a copy into
// [B·H, T, dh] and back, forward and backward, cost 7 % of a mosaic's training step.
template <class T>
struct RowsOf {
  T* data;
  int64_t heads, batch_stride, head_stride, row_stride;
  T* row(int64_t g, int64_t i) const {
    return data + (g / heads) * batch_stride + (g % heads) * head_stride + i * row_stride;
  }
};
using In = RowsOf<const float>;
using Out = RowsOf<float>;

template <class T>
RowsOf<T> rows_of(T* data, const torch::Tensor& t) {
  if (t.dim() == 3) return {data, std::max<int64_t>(t.size(0), 1), 0, t.stride(0), t.stride(1)};
  return {data, std::max<int64_t>(t.size(1), 1), t.stride(0), t.stride(1), t.stride(2)};
}
In in(const torch::Tensor& t) { return rows_of<const float>(t.data_ptr<float>(), t); }
Out out_of(torch::Tensor& t) { return rows_of<float>(t.data_ptr<float>(), t); }
// the kernel reads rows whole: a tensor whose last dimension is strided is copied first
torch::Tensor unit_last(const torch::Tensor& t) { return t.stride(-1) == 1 ? t : t.contiguous(); }

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

// rows [i, i + n) of group g into a [kBlockRows, ld] block, zero elsewhere
void pack_rows(const In& src, int64_t g, int64_t i, int64_t n, int64_t width, std::vector<float>& dst, int64_t ld) {
  zero(dst, kBlockRows * ld);
  for (int64_t r = 0; r < n; ++r) std::copy_n(src.row(g, i + r), width, dst.data() + r * ld);
}

// rows 0 … n−1 of group g into [n, ld] (zero up to round_up(n, kCols) rows)
void pack_keys(const In& src, int64_t g, int64_t n, int64_t width, std::vector<float>& dst, int64_t ld) {
  zero(dst, round_up(std::max<int64_t>(n, 1), kCols) * ld);
  for (int64_t j = 0; j < n; ++j) std::copy_n(src.row(g, j), width, dst.data() + j * ld);
}

// Keys 0 … n−1 of an [n, width] matrix, transposed one key block at a time: block b is a
// [width, kBlockKeys] matrix at dst + b·width·kBlockKeys, zero beyond key n. One [width, S]
// transpose would give the score product a row stride of S floats, and at S = 1,024 (4 KB) every
// row of a key block falls into the same first-level cache sets: the product ran at half speed.
void pack_key_blocks(const In& src, int64_t g, int64_t n, int64_t width, std::vector<float>& dst) {
  const int64_t blocks = (n + kBlockKeys - 1) / kBlockKeys;
  zero(dst, std::max<int64_t>(blocks, 1) * width * kBlockKeys);
  for (int64_t b = 0; b < blocks; ++b)
    tile::transpose(std::min(kBlockKeys, n - b * kBlockKeys), width, src.row(g, b * kBlockKeys), src.row_stride,
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
ENGRAM_TILE_INLINE void forward_rows_as(const Problem& p, const In& q, const In& k, const In& v, const Out& out,
                                        float* lse, int64_t g, int64_t first, int64_t last, Scratch& w) {
  const int64_t D = p.D, Dv = p.Dv, Dvp = round_up(Dv, kCols);
  const int64_t keys = p.visible(last - 1);
  pack_key_blocks(k, g, keys, D, w.kt);
  pack_keys(v, g, keys, Dv, w.vp, Dvp);
  w.s.resize(kBlockRows * kBlockKeys);  // each key block's scores overwrite it

  for (int64_t i0 = first; i0 < last; i0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, last - i0);
    pack_rows(q, g, i0, rows, D, w.q, D);
    zero(w.acc, kBlockRows * Dvp);
    std::fill_n(w.m, kBlockRows, -std::numeric_limits<float>::infinity());
    std::fill_n(w.l, kBlockRows, 0.0f);
    const int64_t block_keys = p.visible(i0 + rows - 1);
    for (int64_t j0 = 0; j0 < block_keys; j0 += kBlockKeys) {
      const int64_t bc = std::min(kBlockKeys, block_keys - j0), bcp = round_up(bc, kCols);
      tile::gemm<V>(kBlockRows, bcp, D, w.q.data(), D, w.kt.data() + j0 * D, kBlockKeys, w.s.data(), kBlockKeys);
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
      float* o = out.row(g, i0 + r);
      const float inv = w.l[r] > 0 ? 1.0f / w.l[r] : 0.0f;
      for (int64_t d = 0; d < Dv; ++d) o[d] = w.acc[r * Dvp + d] * inv;
      lse[g * p.N + i0 + r] = w.l[r] > 0 ? w.m[r] + std::log(w.l[r]) : 0.0f;
    }
  }
}

ENGRAM_PER_ISA(forward_rows,
               (const Problem& p, const In& q, const In& k, const In& v, const Out& out, float* lse, int64_t g,
                int64_t first, int64_t last, Scratch& w),
               (p, q, k, v, out, lse, g, first, last, w))

// Gradients of rows [first, last) of group g: dq for those rows, and this range's share of dk and
// dv (all of it when the group is one range), zero for the keys its rows do not see.
template <class V>
ENGRAM_TILE_INLINE void backward_rows_as(const Problem& p, const In& q, const In& k, const In& v, const In& out,
                                         const float* lse, const In& dout, const Out& dq, const Out& dk,
                                         const Out& dv, int64_t g, int64_t first, int64_t last, Scratch& w) {
  const int64_t D = p.D, Dv = p.Dv, Dp = round_up(D, kCols), Dvp = round_up(Dv, kCols);
  const int64_t keys = p.visible(last - 1), Sp = round_up(std::max<int64_t>(keys, 1), kCols);
  pack_key_blocks(k, g, keys, D, w.kt);
  pack_key_blocks(v, g, keys, Dv, w.vt);
  pack_keys(k, g, keys, D, w.kp, Dp);
  zero(w.dk, Sp * Dp);
  zero(w.dv, Sp * Dvp);
  w.s.resize(kBlockRows * kBlockKeys);  // each key block's scores and their gradients overwrite these
  w.dp.resize(kBlockRows * kBlockKeys);

  for (int64_t i0 = first; i0 < last; i0 += kBlockRows) {
    const int64_t rows = std::min(kBlockRows, last - i0), base = g * p.N + i0;
    pack_rows(q, g, i0, rows, D, w.q, Dp);
    pack_rows(dout, g, i0, rows, Dv, w.dout, Dvp);
    zero(w.dq, kBlockRows * Dp);
    // Padding rows (r ≥ rows) get weight 0, but 0 × a leftover NaN is NaN: their terms must be set.
    std::fill_n(w.delta, kBlockRows, 0.0f);
    std::fill_n(w.lse, kBlockRows, 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      const float *dor = dout.row(g, i0 + r), *orow = out.row(g, i0 + r);
      float delta = 0;  // Σ_d dO·O = Σ_j P·dP: the softmax backward's row term, dropout included
      for (int64_t d = 0; d < Dv; ++d) delta += dor[d] * orow[d];
      w.delta[r] = delta;
      w.lse[r] = lse[base + r];
    }
    const int64_t block_keys = p.visible(i0 + rows - 1);
    for (int64_t j0 = 0; j0 < block_keys; j0 += kBlockKeys) {
      const int64_t bc = std::min(kBlockKeys, block_keys - j0), bcp = round_up(bc, kCols);
      tile::gemm<V>(kBlockRows, bcp, D, w.q.data(), Dp, w.kt.data() + j0 * D, kBlockKeys, w.s.data(), kBlockKeys);
      tile::gemm<V>(kBlockRows, bcp, Dv, w.dout.data(), Dvp, w.vt.data() + j0 * Dv, kBlockKeys, w.dp.data(), kBlockKeys);
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
    for (int64_t r = 0; r < rows; ++r) std::copy_n(w.dq.data() + r * Dp, D, dq.row(g, i0 + r));
  }
  for (int64_t j = 0; j < p.S; ++j) {
    float *dkr = dk.row(g, j), *dvr = dv.row(g, j);
    if (j < keys) {
      std::copy_n(w.dk.data() + j * Dp, D, dkr);
      std::copy_n(w.dv.data() + j * Dvp, Dv, dvr);
    } else {
      std::fill_n(dkr, D, 0.0f);
      std::fill_n(dvr, Dv, 0.0f);
    }
  }
}

ENGRAM_PER_ISA(backward_rows,
               (const Problem& p, const In& q, const In& k, const In& v, const In& out, const float* lse,
                const In& dout, const Out& dq, const Out& dk, const Out& dv, int64_t g, int64_t first, int64_t last,
                Scratch& w),
               (p, q, k, v, out, lse, dout, dq, dk, dv, g, first, last, w))

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
  int64_t groups = 1;
  for (int64_t d = 0; d + 2 < q.dim(); ++d) groups *= q.size(d);
  Problem p{groups, q.size(-2), k.size(-2), q.size(-1), v.size(-1), static_cast<float>(o.scale), o.causal, o.shift,
            tile::DropoutMask(o.seed, o.dropout), 1};
  const int64_t blocks = (p.N + kBlockRows - 1) / kBlockRows;
  const int64_t wanted = (2 * at::get_num_threads() + p.G - 1) / p.G;  // ≥ 2 ranges per thread
  p.chunks = std::clamp<int64_t>(wanted, 1, std::max<int64_t>(blocks, 1));
  return p;
}

// An uninitialised tensor of `like`'s sizes, last dimension `width`, whose memory runs in the order
// of like's strides: the read's output and gradients come back in the layout its inputs came in,
// so that [B, H, T, dh] views of [B, T, H, dh] activations stay views on the way out too.
torch::Tensor empty_in_order_of(const torch::Tensor& like, int64_t width) {
  const int64_t n = like.dim();
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end() - 1, [&](int64_t a, int64_t b) { return like.stride(a) > like.stride(b); });
  std::vector<int64_t> sizes(n), back(n);
  for (int64_t i = 0; i < n; ++i) {
    sizes[i] = order[i] == n - 1 ? width : like.size(order[i]);
    back[order[i]] = i;
  }
  return torch::empty(sizes, like.options()).permute(back);
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
    auto out = empty_in_order_of(q, p.Dv);
    auto lse = torch::empty({p.G, p.N}, q.options());
    const In qr = in(q), kr = in(k), vr = in(v);
    const Out outr = out_of(out);
    float* ld = lse.data_ptr<float>();
    for_each_range(p, [&](int64_t g, int64_t, int64_t first, int64_t last, Scratch& w) {
      forward_rows(p, qr, kr, vr, outr, ld, g, first, last, w);
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
    const auto dout = unit_last(grads[0]);
    auto dq = empty_in_order_of(q, p.D);
    // Uninitialised: every range is non-empty (problem_of gives each at least one row block) and
    // backward_rows writes all of its group's (or its range's share of) dk and dv.
    auto dk = empty_in_order_of(k, p.D), dv = empty_in_order_of(v, p.Dv);
    torch::Tensor dk_parts, dv_parts;
    if (p.chunks > 1) {  // each range writes its share to a slice of its own; summed below
      dk_parts = torch::empty({p.chunks, p.G, p.S, p.D}, q.options());
      dv_parts = torch::empty({p.chunks, p.G, p.S, p.Dv}, q.options());
    }
    const auto share = [&](torch::Tensor& whole, torch::Tensor& parts, int64_t chunk, int64_t width) {
      if (p.chunks == 1) return out_of(whole);
      return Out{parts.data_ptr<float>() + chunk * p.G * p.S * width, p.G, 0, p.S * width, width};
    };
    const In qr = in(q), kr = in(k), vr = in(v), outr = in(out), doutr = in(dout);
    const Out dqr = out_of(dq);
    const float* ld = lse.data_ptr<float>();
    for_each_range(p, [&](int64_t g, int64_t c, int64_t first, int64_t last, Scratch& w) {
      backward_rows(p, qr, kr, vr, outr, ld, doutr, dqr, share(dk, dk_parts, c, p.D), share(dv, dv_parts, c, p.Dv), g,
                    first, last, w);
    });
    if (p.chunks > 1) {
      dk.copy_(dk_parts.sum(0).view(k.sizes()));
      dv.copy_(dv_parts.sum(0).view(v.sizes()));
    }
    return {dq, dk, dv, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

// q's sizes with the last dimension `last`
std::vector<int64_t> sizes_with_last(const torch::Tensor& q, int64_t last) {
  auto sizes = q.sizes().vec();
  sizes.back() = last;
  return sizes;
}

// The reference: LibTorch operations, the [..., N, S] weights materialised. Rows that see no key
// are left out of the softmax and read 0.
torch::Tensor composition(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                          const SoftmaxReadOptions& o) {
  const int64_t N = q.size(-2), S = k.size(-2);
  const int64_t blind = o.causal ? std::clamp<int64_t>(-o.shift, 0, N) : 0;
  if (blind == N || S == 0) return torch::zeros(sizes_with_last(q, v.size(-1)), q.options());
  auto qs = q.narrow(-2, blind, N - blind);
  auto w = torch::matmul(qs, k.transpose(-2, -1)).mul_(o.scale);
  if (o.causal) {
    auto opts = torch::TensorOptions().device(q.device());
    auto row = torch::arange(blind, N, opts.dtype(torch::kLong)).unsqueeze(1);
    auto col = torch::arange(0, S, opts.dtype(torch::kLong)).unsqueeze(0);
    w.masked_fill_(col > row + o.shift, -std::numeric_limits<double>::infinity());
  }
  w = torch::softmax(w, -1);
  if (o.dropout > 0) {
    auto keep = softmax_read_keep(o.seed, o.dropout, sizes_with_last(q, S)).narrow(-2, blind, N - blind);
    w = w * keep.to(w.options()) / (1.0 - o.dropout);
  }
  auto y = torch::matmul(w, v);
  if (blind == 0) return y;
  auto zeros = sizes_with_last(q, v.size(-1));
  zeros[zeros.size() - 2] = blind;
  return torch::cat({torch::zeros(zeros, q.options()), y}, -2);
}

std::string shape_of(const torch::Tensor& t) {
  std::string s;
  for (int64_t d : t.sizes()) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

}  // namespace

void set_read_path(ReadPath path) { g_path = path; }
ReadPath read_path() { return g_path; }

torch::Tensor softmax_read(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                           const SoftmaxReadOptions& o) {
  const auto lead = [](const torch::Tensor& t) { return t.sizes().slice(0, t.dim() - 2); };
  if ((q.dim() != 3 && q.dim() != 4) || k.dim() != q.dim() || v.dim() != q.dim())
    throw Error("softmax_read: expects q [G, N, D], k [G, S, D], v [G, S, Dv] or the same with [B, H] for G; got q " +
                shape_of(q) + ", k " + shape_of(k) + ", v " + shape_of(v));
  if (lead(k) != lead(q) || lead(v) != lead(q) || k.size(-1) != q.size(-1) || v.size(-2) != k.size(-2))
    throw Error("softmax_read: shapes q " + shape_of(q) + ", k " + shape_of(k) + ", v " + shape_of(v) +
                " do not fit together");
  if (!(o.dropout >= 0 && o.dropout < 1)) throw Error("softmax_read: dropout must be in [0, 1)");
  const bool kernel = g_path == ReadPath::kBlocked && q.device().is_cpu() && q.scalar_type() == torch::kFloat &&
                      k.scalar_type() == torch::kFloat && v.scalar_type() == torch::kFloat && k.size(-2) > 0 &&
                      q.size(-2) > 0 && q.numel() > 0;
  if (!kernel) return composition(q, k, v, o);
  return BlockedRead::apply(unit_last(q), unit_last(k), unit_last(v), o.scale, o.causal, o.shift, o.dropout,
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
