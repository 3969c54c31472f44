#include "engram/kernels/cross_entropy.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "engram/core/error.h"
#include "engram/kernels/softmax_read.h"
#include "engram/kernels/tile_math.h"

namespace engram {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;
using tile::load8;
using tile::store8;
using tile::vec8;

constexpr int64_t kIgnore = -100;

// max of x[0 … n−1], V's lanes at a time
template <class V>
ENGRAM_TILE_INLINE float row_max(const float* x, int64_t n) {
  constexpr int64_t L = tile::kLanes<V>;
  V mx = V{} - std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + L <= n; j += L) {
    const V v = tile::load<V>(x + j);
    mx = mx > v ? mx : v;
  }
  float m = mx[0];
  for (int64_t l = 1; l < L; ++l) m = std::max(m, mx[l]);
  for (; j < n; ++j) m = std::max(m, x[j]);
  return m;
}

// Σ exp(x[j] − m)
ENGRAM_TILE_INLINE float sum_exp(const float* x, int64_t n, float m) {
  vec8 acc = {};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) acc += tile::exp_nonpositive(load8(x + j) - m);
  float s = tile::hsum(acc);
  for (; j < n; ++j) s += tile::exp_nonpositive(x[j] - m);
  return s;
}

ENGRAM_SIMD_CLONES
void forward_range(const float* logits, const int64_t* targets, int64_t V, float* loss, float* lse, int64_t begin,
                   int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float* x = logits + i * V;
    const float m = row_max<vec8>(x, V);
    lse[i] = m + std::log(sum_exp(x, V, m));
    loss[i] = targets[i] == kIgnore ? 0.0f : lse[i] - x[targets[i]];
  }
}

// dx[i, :] = g[i] · (softmax(x[i, :]) − onehot(targets[i]))
ENGRAM_SIMD_CLONES
void backward_range(const float* logits, const int64_t* targets, const float* lse, const float* g, int64_t V,
                    float* dx, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const float* x = logits + i * V;
    const float gi = targets[i] == kIgnore ? 0.0f : g[i], l = lse[i];
    float* d = dx + i * V;
    int64_t j = 0;
    for (; j + 8 <= V; j += 8) store8(d + j, tile::exp_nonpositive(load8(x + j) - l) * gi);
    for (; j < V; ++j) d[j] = tile::exp_nonpositive(x[j] - l) * gi;
    if (targets[i] != kIgnore) d[targets[i]] -= gi;
  }
}

struct RowCrossEntropy : public torch::autograd::Function<RowCrossEntropy> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& logits, const torch::Tensor& targets) {
    const int64_t N = logits.size(0), V = logits.size(1);
    auto loss = torch::empty({N}, logits.options());
    auto lse = torch::empty({N}, logits.options());
    const float* x = logits.data_ptr<float>();
    const int64_t* t = targets.data_ptr<int64_t>();
    float *ld = loss.data_ptr<float>(), *sd = lse.data_ptr<float>();
    at::parallel_for(0, N, 16, [&](int64_t begin, int64_t end) { forward_range(x, t, V, ld, sd, begin, end); });
    ctx->save_for_backward({logits, targets, lse});
    return loss;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto &logits = saved[0], &targets = saved[1], &lse = saved[2];
    const auto g = grads[0].contiguous();
    const int64_t N = logits.size(0), V = logits.size(1);
    auto dx = torch::empty_like(logits);
    const float *x = logits.data_ptr<float>(), *sd = lse.data_ptr<float>(), *gd = g.data_ptr<float>();
    const int64_t* t = targets.data_ptr<int64_t>();
    float* d = dx.data_ptr<float>();
    at::parallel_for(0, N, 16, [&](int64_t begin, int64_t end) { backward_range(x, t, sd, gd, V, d, begin, end); });
    return {dx, torch::Tensor()};
  }
};

// For rows [begin, end) of logits x [·, V]: loss[i] = logsumexp(x[i]) − x[i, t[i]] and, when
// `grads`, x[i] overwritten by g[i] · (softmax(x[i]) − onehot(t[i])). One exp per logit: the
// exponentials are kept in x between the sum and the gradient (the row is in cache).
template <class V>
ENGRAM_TILE_INLINE void head_rows_as(float* x, const int64_t* t, const float* g, int64_t n, bool grads, float* loss,
                                     int64_t begin, int64_t end) {
  constexpr int64_t L = tile::kLanes<V>;
  const int64_t body = n / L * L;
  for (int64_t i = begin; i < end; ++i) {
    float* row = x + i * n;
    const bool ignored = t[i] == kIgnore;
    const float target = ignored ? 0.0f : row[t[i]];
    const float m = row_max<V>(row, n);
    V acc = {};
    for (int64_t j = 0; j < body; j += L) {
      const V e = tile::exp_nonpositive(tile::load<V>(row + j) - m);
      tile::store<V>(row + j, e);
      acc += e;
    }
    float sum = tile::hsum(acc);
    for (int64_t j = body; j < n; ++j) sum += row[j] = tile::exp_nonpositive(row[j] - m);
    loss[i] = ignored ? 0.0f : m + std::log(sum) - target;
    if (!grads) continue;
    const float gi = ignored ? 0.0f : g[i], f = gi / sum;
    for (int64_t j = 0; j < body; j += L) tile::store<V>(row + j, tile::load<V>(row + j) * f);
    for (int64_t j = body; j < n; ++j) row[j] *= f;
    if (!ignored) row[t[i]] -= gi;
  }
}

ENGRAM_PER_ISA(head_rows,
               (float* x, const int64_t* t, const float* g, int64_t n, bool grads, float* loss, int64_t begin,
                int64_t end),
               (x, t, g, n, grads, loss, begin, end))

// Rows of logits per block of linear_cross_entropy: a [256, 4,096] block is 4 MB, the two cores'
// second-level caches; 128 rows was 10 % slower (more, narrower products), 512 no faster.
constexpr int64_t kHeadRows = 256;

struct LinearCrossEntropy : public torch::autograd::Function<LinearCrossEntropy> {
  // g: each row's weight in the mean (w_i / Σ w); want_dh, want_dweight: the gradients to form
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& weight,
                               const torch::Tensor& targets, const torch::Tensor& g, double scale, bool want_dh,
                               bool want_dweight) {
    const bool grads = want_dh || want_dweight;
    const int64_t N = h.size(0), V = weight.size(0);
    auto logits = torch::empty({std::min(N, kHeadRows), V}, h.options());
    auto loss = torch::empty({N}, h.options());
    torch::Tensor dh, dweight;
    if (want_dh) dh = torch::empty_like(h);
    if (want_dweight) dweight = torch::empty_like(weight);
    const int64_t* t = targets.data_ptr<int64_t>();
    const float* gd = g.data_ptr<float>();
    float *ld = loss.data_ptr<float>(), *x = logits.data_ptr<float>();
    for (int64_t i0 = 0; i0 < N; i0 += kHeadRows) {
      const int64_t rows = std::min(kHeadRows, N - i0);
      const auto hb = h.narrow(0, i0, rows);
      auto block = logits.narrow(0, 0, rows);
      at::addmm_out(block, block, hb, weight.t(), /*beta=*/0, /*alpha=*/scale);
      at::parallel_for(0, rows, 16, [&](int64_t begin, int64_t end) {
        head_rows(x, t + i0, gd + i0, V, grads, ld + i0, begin, end);
      });
      if (!grads) continue;
      // block is now ∂loss/∂(scaled logits); the head's product carries the scale once more
      if (want_dh) {
        auto dhb = dh.narrow(0, i0, rows);
        at::addmm_out(dhb, dhb, block, weight, 0, scale);
      }
      if (want_dweight && i0 == 0) at::addmm_out(dweight, dweight, block.t(), hb, 0, scale);
      else if (want_dweight) dweight.addmm_(block.t(), hb, 1, scale);
    }
    ctx->save_for_backward({dh, dweight});
    return (loss.to(torch::kDouble) * g.to(torch::kDouble)).sum().to(torch::kFloat);
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const auto& g = grads[0];
    const auto scaled = [&](const torch::Tensor& d) { return d.defined() ? d * g : d; };
    return {scaled(saved[0]), scaled(saved[1]), {}, {}, {}, {}, {}};
  }
};

bool kernel_applies(const torch::Tensor& x, const torch::Tensor& targets) {
  return read_path() == ReadPath::kBlocked && x.device().is_cpu() && targets.device().is_cpu() &&
         x.scalar_type() == torch::kFloat && targets.scalar_type() == torch::kLong;
}

void check_targets(const torch::Tensor& t, int64_t V, const char* where) {
  const auto wrong = (t < 0).logical_and(t != kIgnore).logical_or(t >= V);
  if (wrong.any().item<bool>()) {
    const int64_t id = t.masked_select(wrong)[0].item<int64_t>();
    throw Error(std::string(where) + ": target id " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(V));
  }
}

}  // namespace

torch::Tensor cross_entropy_rows(const torch::Tensor& logits, const torch::Tensor& targets) {
  if (logits.dim() != 2 || targets.dim() != 1 || targets.size(0) != logits.size(0))
    throw Error("cross_entropy_rows: expects logits [N, V] and targets [N]");
  if (!kernel_applies(logits, targets) || logits.size(1) == 0)
    return torch::nn::functional::cross_entropy(logits, targets,
                                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  const auto t = targets.contiguous();
  check_targets(t, logits.size(1), "cross_entropy_rows");
  return RowCrossEntropy::apply(logits.contiguous(), t);
}

torch::Tensor linear_cross_entropy(const torch::Tensor& h, const torch::Tensor& weight, double scale,
                                   const torch::Tensor& targets, const torch::Tensor& row_weights) {
  const int64_t N = h.dim() == 2 ? h.size(0) : -1;
  if (N < 0 || weight.dim() != 2 || weight.size(1) != h.size(1) || targets.dim() != 1 || targets.size(0) != N ||
      (row_weights.defined() && (row_weights.dim() != 1 || row_weights.size(0) != N)))
    throw Error("linear_cross_entropy: expects h [N, D], weight [V, D], targets [N] and row weights [N]");
  const auto g = row_weights.defined() ? row_weights.to(h.dtype()) / row_weights.sum().clamp_min(1.0).to(h.dtype())
                                       : torch::full({N}, 1.0 / std::max<int64_t>(N, 1), h.options());
  if (!kernel_applies(h, targets) || weight.scalar_type() != torch::kFloat || weight.size(0) == 0 || N == 0) {
    auto logits = torch::matmul(h, weight.t());
    if (scale != 1.0) logits = logits * scale;
    return (cross_entropy_rows(logits, targets) * g).sum();
  }
  const auto t = targets.contiguous();
  check_targets(t, weight.size(0), "linear_cross_entropy");
  const bool on = torch::GradMode::is_enabled();
  return LinearCrossEntropy::apply(h.contiguous(), weight.contiguous(), t, g.detach().contiguous(), scale,
                                   on && h.requires_grad(), on && weight.requires_grad());
}

}  // namespace engram
