#include "engram/kernels/cross_entropy.h"

#include <ATen/Parallel.h>

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

// max of x[0 … n−1]
ENGRAM_TILE_INLINE float row_max(const float* x, int64_t n) {
  vec8 mx = vec8{} - std::numeric_limits<float>::infinity();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const vec8 v = load8(x + j);
    mx = mx > v ? mx : v;
  }
  float m = mx[0];
  for (int i = 1; i < 8; ++i) m = std::max(m, mx[i]);
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
    const float m = row_max(x, V);
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

}  // namespace

torch::Tensor cross_entropy_rows(const torch::Tensor& logits, const torch::Tensor& targets) {
  if (logits.dim() != 2 || targets.dim() != 1 || targets.size(0) != logits.size(0))
    throw Error("cross_entropy_rows: expects logits [N, V] and targets [N]");
  const bool kernel = read_path() == ReadPath::kBlocked && logits.device().is_cpu() && targets.device().is_cpu() &&
                      logits.scalar_type() == torch::kFloat && targets.scalar_type() == torch::kLong &&
                      logits.size(1) > 0;
  if (!kernel)
    return torch::nn::functional::cross_entropy(logits, targets,
                                                torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  const auto t = targets.contiguous();
  const int64_t V = logits.size(1);
  const auto wrong = (t < 0).logical_and(t != kIgnore).logical_or(t >= V);
  if (wrong.any().item<bool>()) {
    const int64_t id = t.masked_select(wrong)[0].item<int64_t>();
    throw Error("cross_entropy_rows: target id " + std::to_string(id) + " is outside the vocabulary of " +
                std::to_string(V));
  }
  return RowCrossEntropy::apply(logits.contiguous(), t);
}

}  // namespace engram
