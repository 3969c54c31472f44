#include "engram/fast/dct.h"

#include <cmath>

#include "engram/core/error.h"

namespace engram {

Dct::Dct(int64_t length) : n_(length) {
  if (length < 1) throw Error("DCT: length must be ≥ 1, got " + std::to_string(length));
  basis_.resize(static_cast<size_t>(n_ * n_));
  for (int64_t k = 0; k < n_; ++k) {
    const double w = std::sqrt((k == 0 ? 1.0 : 2.0) / static_cast<double>(n_));
    for (int64_t n = 0; n < n_; ++n)
      basis_[static_cast<size_t>(k * n_ + n)] = w * std::cos(M_PI * static_cast<double>((2 * n + 1) * k) / (2.0 * n_));
  }
}

std::vector<double> Dct::forward(const std::vector<double>& x, int64_t dims) const {
  if (static_cast<int64_t>(x.size()) != n_ * dims) throw Error("DCT: expected " + std::to_string(n_ * dims) + " values");
  std::vector<double> c(x.size(), 0.0);
  for (int64_t k = 0; k < n_; ++k)
    for (int64_t n = 0; n < n_; ++n) {
      const double b = basis_[static_cast<size_t>(k * n_ + n)];
      for (int64_t j = 0; j < dims; ++j) c[static_cast<size_t>(k * dims + j)] += b * x[static_cast<size_t>(n * dims + j)];
    }
  return c;
}

std::vector<double> Dct::inverse(const std::vector<double>& c, int64_t dims) const {
  if (static_cast<int64_t>(c.size()) != n_ * dims) throw Error("DCT: expected " + std::to_string(n_ * dims) + " values");
  std::vector<double> x(c.size(), 0.0);
  for (int64_t k = 0; k < n_; ++k)
    for (int64_t n = 0; n < n_; ++n) {
      const double b = basis_[static_cast<size_t>(k * n_ + n)];
      for (int64_t j = 0; j < dims; ++j) x[static_cast<size_t>(n * dims + j)] += b * c[static_cast<size_t>(k * dims + j)];
    }
  return x;
}

}  // namespace engram
