#include "engram/seq/complex_memory.h"

#include <algorithm>
#include <numeric>

#include "engram/core/error.h"

namespace engram {

torch::Tensor complex_structured(const torch::Tensor& raw) {
  const int64_t n = raw.size(0) / 2, m = raw.size(1) / 2;
  auto w = raw.view({n, 2, m, 2});
  auto a = (w.select(3, 0).select(1, 0) + w.select(3, 1).select(1, 1)) / 2;  // [n, m]
  auto b = (w.select(3, 1).select(1, 0) - w.select(3, 0).select(1, 1)) / 2;
  auto top = torch::stack({a, b}, -1), bottom = torch::stack({-b, a}, -1);  // [n, m, 2]
  return torch::stack({top, bottom}, 1).reshape({2 * n, 2 * m});
}

ComplexContextMemory::ComplexContextMemory(int64_t dim, int64_t heads, double kernel_scale)
    : dim_(dim), heads_(heads), scale_(kernel_scale) {
  if (dim % 2 || dim % heads || (dim / heads) % 2)
    throw Error("complex memory: dim " + std::to_string(dim) + " must split into heads of whole complex coordinates");
  const double bound = 1.0 / std::sqrt(static_cast<double>(dim));  // nn.Linear's default range
  W_k_raw = register_parameter("W_k", torch::empty({dim, dim}).uniform_(-bound, bound));
  W_v_raw = register_parameter("W_v", torch::empty({dim, dim}).uniform_(-bound, bound));
  W_o_raw = register_parameter("W_o", torch::empty({dim, dim}).uniform_(-bound, bound));
}

torch::Tensor ComplexContextMemory::forward(const torch::Tensor& x) {
  const int64_t B = x.size(0), T = x.size(1), H = heads_, dh = dim_ / heads_;
  if (x.dim() != 3 || x.size(2) != dim_) throw Error("complex memory: input must be [B, T, " + std::to_string(dim_) + "]");
  auto heads = [&](const torch::Tensor& t) { return t.view({B, t.size(1), H, dh}).transpose(1, 2); };  // [B, H, T, dh]
  if (T == 1) return torch::zeros_like(x);
  auto k = heads(torch::matmul(x, W_k().t()));
  auto v = heads(torch::matmul(x.narrow(1, 1, T - 1), W_v().t()));  // v_j = W_v x_{j+1}, j = 0 … T−2
  // Query t ≥ 1 reads pairs j ≤ t − 1; row 0 has none and outputs zeros.
  // In place on the fresh product: the T² tensors dominate time and memory here.
  auto future = torch::ones({T - 1, T - 1}, torch::TensorOptions().dtype(torch::kBool).device(x.device())).triu(1);
  auto scores = torch::matmul(k.narrow(2, 1, T - 1), k.narrow(2, 0, T - 1).transpose(-2, -1)).mul_(scale_).masked_fill_(future, -INFINITY);
  auto y = torch::matmul(torch::softmax(scores, -1), v);  // [B, H, T−1, dh]
  y = torch::cat({torch::zeros({B, H, 1, dh}, x.options()), y}, 2).transpose(1, 2).reshape({B, T, dim_});
  return torch::matmul(y, W_o().t());
}

torch::Tensor ComplexContextMemory::generate(const torch::Tensor& context, int64_t steps) {
  torch::NoGradGuard no_grad;
  const int64_t B = context.size(0), c = context.size(1), H = heads_, dh = dim_ / heads_;
  auto Wk = W_k(), Wv = W_v(), Wo = W_o();
  auto X = torch::cat({context, torch::zeros({B, steps, dim_}, context.options())}, 1);
  auto K = torch::matmul(X, Wk.t()).view({B, c + steps, H, dh}).transpose(1, 2).contiguous();  // rows ≥ c filled as we go
  auto V = torch::matmul(X, Wv.t()).view({B, c + steps, H, dh}).transpose(1, 2).contiguous();  // row j holds W_v x_j
  for (int64_t s = 0; s < steps; ++s) {
    const int64_t t = c - 1 + s;  // the position whose output predicts x_{t+1}
    torch::Tensor y = torch::zeros({B, H, dh}, context.options());
    if (t >= 1) {
      auto q = K.select(2, t).unsqueeze(-1);                                          // [B, H, dh, 1]
      auto w = torch::softmax(scale_ * torch::matmul(K.narrow(2, 0, t), q).squeeze(-1), -1);  // keys 0 … t−1
      y = torch::matmul(w.unsqueeze(-2), V.narrow(2, 1, t)).squeeze(-2);              // values W_v x_{1 … t}
    }
    auto next = torch::matmul(y.reshape({B, dim_}), Wo.t());
    X.select(1, t + 1).copy_(next);
    K.select(2, t + 1).copy_(torch::matmul(next, Wk.t()).view({B, H, dh}));
    V.select(2, t + 1).copy_(torch::matmul(next, Wv.t()).view({B, H, dh}));
  }
  return X.narrow(1, c, steps);
}

torch::Tensor complex_block_magnitudes(const torch::Tensor& w) {
  const int64_t n = w.size(0) / 2, m = w.size(1) / 2;
  auto blocks = w.detach().view({n, 2, m, 2});
  return torch::sqrt(blocks.select(3, 0).select(1, 0).square() + blocks.select(3, 1).select(1, 0).square());
}

double permutation_score(const torch::Tensor& magnitudes) {
  const int64_t n = magnitudes.size(0);
  auto m = magnitudes.to(torch::kFloat64).contiguous();
  const double total = m.sum().item<double>();
  if (total <= 0) return 0.0;
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  double best = 0;
  do {
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += m[i][perm[static_cast<size_t>(i)]].item<double>();
    best = std::max(best, s);
  } while (std::next_permutation(perm.begin(), perm.end()));
  return best / total;
}

}  // namespace engram
