// The orthonormal DCT-II along time as an H×H matrix (KI spec §4.1 step 2, §7.1: LibTorch has no
// DCT, and for H ≤ 64 a matrix product is exact and cheap):
//   C[k, j] = w_k · Σ_n x[n, j] · cos(π(2n+1)k / 2H),  w_0 = √(1/H), w_k = √(2/H).
// Orthonormal, so the inverse (DCT-III) is the transpose and rounding errors keep their size.
#pragma once

#include <cstdint>
#include <vector>

namespace engram {

class Dct {
 public:
  explicit Dct(int64_t length);

  // x is [H, D] row-major (time-major); each of the D columns is transformed on its own.
  std::vector<double> forward(const std::vector<double>& x, int64_t dims) const;
  std::vector<double> inverse(const std::vector<double>& coefficients, int64_t dims) const;
  int64_t length() const { return n_; }

 private:
  int64_t n_;
  std::vector<double> basis_;  // basis_[k·H + n] = w_k cos(π(2n+1)k / 2H)
};

}  // namespace engram
