#include "engram/memory/feature_map.h"

#include <cmath>
#include <map>

#include "engram/core/error.h"

namespace engram {

int64_t binomial(int64_t n, int64_t k) {
  int64_t r = 1;
  for (int64_t i = 1; i <= k; ++i) r = r * (n - k + i) / i;
  return r;
}

namespace {
// All non-decreasing index tuples of length j over 0 … d−1 (one per monomial of degree j).
void tuples(int64_t d, int64_t j, std::vector<int64_t>& current, std::vector<std::vector<int64_t>>& out) {
  if (static_cast<int64_t>(current.size()) == j) {
    out.push_back(current);
    return;
  }
  for (int64_t i = current.empty() ? 0 : current.back(); i < d; ++i) {
    current.push_back(i);
    tuples(d, j, current, out);
    current.pop_back();
  }
}

double factorial(int64_t n) { return std::tgamma(static_cast<double>(n) + 1.0); }
}  // namespace

Monomials monomials(int64_t d, int64_t j) {
  std::vector<std::vector<int64_t>> all;
  std::vector<int64_t> current;
  tuples(d, j, current, all);
  Monomials m;
  for (const auto& t : all) {
    m.index.insert(m.index.end(), t.begin(), t.end());
    std::map<int64_t, int64_t> counts;
    for (int64_t i : t) ++counts[i];
    double multinomial = factorial(j);
    for (const auto& [i, c] : counts) multinomial /= factorial(c);
    m.weight.push_back(static_cast<float>(std::sqrt(multinomial)));
  }
  return m;
}

const Names<FeatureKind>& names_of(FeatureKind) {
  static const Names<FeatureKind> names = {{"identity", FeatureKind::kIdentity}, {"polynomial", FeatureKind::kPolynomial}};
  return names;
}

FeatureMap::FeatureMap(FeatureKind kind, int64_t input_dim, int64_t degree)
    : kind_(kind), input_dim_(input_dim), degree_(degree) {
  if (kind_ == FeatureKind::kIdentity) {
    output_dim_ = input_dim;
    return;
  }
  if (degree < 1 || degree > 4) throw Error("polynomial feature map: degree " + std::to_string(degree) + " is outside 1 … 4");
  output_dim_ = binomial(input_dim + degree, degree);
  std::vector<float> init;
  for (int64_t j = 0; j <= degree; ++j) init.push_back(static_cast<float>(std::sqrt(1.0 / factorial(j))));
  coefficients = register_parameter("coefficients", torch::tensor(init));
  for (int64_t j = 1; j <= degree; ++j) {
    const auto m = monomials(input_dim, j);
    index_.push_back(torch::tensor(m.index).view({static_cast<int64_t>(m.weight.size()), j}));
    weight_.push_back(torch::tensor(m.weight));
  }
}

torch::Tensor FeatureMap::forward(const torch::Tensor& x) {
  if (kind_ == FeatureKind::kIdentity) return x;
  std::vector<torch::Tensor> blocks{coefficients[0] * torch::ones_like(x.narrow(-1, 0, 1))};
  for (int64_t j = 1; j <= degree_; ++j) {
    const auto& idx = index_[static_cast<size_t>(j - 1)].to(x.device());
    auto m = x.index_select(-1, idx.select(1, 0));
    for (int64_t f = 1; f < j; ++f) m = m * x.index_select(-1, idx.select(1, f));
    blocks.push_back(coefficients[j] * weight_[static_cast<size_t>(j - 1)].to(x.options()) * m);
  }
  return torch::cat(blocks, -1);
}

torch::Tensor FeatureMap::linear_part(const torch::Tensor& x) const {
  return kind_ == FeatureKind::kIdentity ? x : coefficients[1] * x;
}

}  // namespace engram
