#include "engram/kernels/tile_math.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace engram {
namespace {

// The register-tiled product (C += A·B, C += Aᵀ·B and C = A·B, which must not read what C held)
// at both vector widths against a plain triple loop in double, on shapes
// that take every path: eight-row and four-row tiles, two-vector and one-vector column tiles, K = 1.
// (The 16-float width runs on any machine: without AVX-512 GCC splits each vector in two.)
template <class V>
void check_products() {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1, 1);
  for (const int64_t M : {4, 8, 12, 32})
    for (const int64_t N : {16, 32, 48, 64})
      for (const int64_t K : {1, 7, 64}) {
        const int64_t lda = K + 3, ldb = N + 16, ldc = N + 5, lda_t = M + 1;
        std::vector<float> A(M * lda), At(K * lda_t), B(K * ldb), C(M * ldc), Ct(M * ldc), Cs(M * ldc);
        for (auto* v : {&A, &At, &B, &C}) for (auto& x : *v) x = u(rng);
        Ct = C;
        Cs = C;
        const auto C0 = C;
        tile::gemm_acc<V>(M, N, K, A.data(), lda, B.data(), ldb, C.data(), ldc);
        tile::gemm_tn_acc<V>(M, N, K, At.data(), lda_t, B.data(), ldb, Ct.data(), ldc);
        tile::gemm<V>(M, N, K, A.data(), lda, B.data(), ldb, Cs.data(), ldc);
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < ldc; ++j) {
            double product = 0, product_t = 0;
            if (j < N)
              for (int64_t k = 0; k < K; ++k) {
                product += double(A[i * lda + k]) * B[k * ldb + j];
                product_t += double(At[k * lda_t + i]) * B[k * ldb + j];
              }
            // columns past N are the caller's: untouched
            const double c0 = C0[i * ldc + j];
            ASSERT_NEAR(C[i * ldc + j], c0 + product, 1e-4) << M << "x" << N << "x" << K << " at " << i << "," << j;
            ASSERT_NEAR(Ct[i * ldc + j], c0 + product_t, 1e-4) << M << "x" << N << "x" << K << " (Aᵀ) at " << i << "," << j;
            ASSERT_NEAR(Cs[i * ldc + j], j < N ? product : c0, 1e-4) << M << "x" << N << "x" << K << " (C =) at " << i << "," << j;
          }
      }
}

TEST(TileMath, ProductAtEightFloatsEqualsThePlainLoop) { check_products<tile::vec8>(); }
TEST(TileMath, ProductAtSixteenFloatsEqualsThePlainLoop) { check_products<tile::vec16>(); }

// The softmax helpers at both widths (each machine runs the kernels at one of them only): the exp
// polynomial against std::exp, the lane indices, the sum, and the dropout factors against the
// scalar mask the composition and the tests use.
template <class V>
void check_helpers() {
  constexpr int W = tile::kLanes<V>;
  float x[W], e[W];
  for (const float base : {0.0f, -0.37f, -5.0f, -40.0f, -86.0f, -200.0f}) {
    for (int i = 0; i < W; ++i) x[i] = base - 0.25f * static_cast<float>(i);
    tile::store<V>(e, tile::exp_nonpositive(tile::load<V>(x)));
    for (int i = 0; i < W; ++i) EXPECT_NEAR(e[i], std::exp(x[i]), 2e-7 * std::exp(x[i]) + 1e-37f) << x[i];
  }
  const auto lanes = tile::lanes<V>();
  for (int i = 0; i < W; ++i) EXPECT_EQ(lanes[i], i);
  V ones = V{} + 1.0f;
  EXPECT_EQ(tile::hsum(ones), static_cast<float>(W));
  const tile::DropoutMask mask(0x1234abcdull, 0.3);
  const uint32_t key = mask.row_key(77);
  float z[W];
  for (const int64_t col : {0, 16, 48, 1008}) {
    tile::store<V>(z, mask.factors<V>(key, col));
    for (int i = 0; i < W; ++i) EXPECT_EQ(z[i], mask.factor(key, col + i)) << col + i;
  }
}

TEST(TileMath, SoftmaxHelpersAtEightFloatsMatchTheScalarOnes) { check_helpers<tile::vec8>(); }
TEST(TileMath, SoftmaxHelpersAtSixteenFloatsMatchTheScalarOnes) { check_helpers<tile::vec16>(); }

}  // namespace
}  // namespace engram
