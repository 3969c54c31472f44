// The DCT behind FAST, against MATLAB's orthonormal dct (SciPy's reference data in ../shared/data).
#include "engram/fast/dct.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "data/shared_data.h"
#include "engram/core/error.h"
#include "engram/core/json.h"

namespace engram {
namespace {

TEST(DctSharedData, MatchesMatlabOrthonormalDct) {
  const auto path = testing::shared_data_dir() / "dct-reference" / "matlab_dct2_ortho_ref.json";
  ENGRAM_REQUIRE_SHARED_PATH(path);
  const auto ref = read_json_file(path.string(), "DCT reference");
  for (int i = 0; i < 8; ++i) {
    const auto x = ref["x" + std::to_string(i)]["data"].get<std::vector<double>>();
    const auto y = ref["y" + std::to_string(i)]["data"].get<std::vector<double>>();
    ASSERT_EQ(x.size(), y.size());
    const auto c = Dct(static_cast<int64_t>(x.size())).forward(x, 1);
    double scale = 0;
    for (double v : y) scale = std::max(scale, std::abs(v));
    for (size_t k = 0; k < y.size(); ++k) EXPECT_NEAR(c[k], y[k], 1e-12 * scale) << "N = " << x.size() << ", k = " << k;
  }
}

TEST(Dct, ColumnsAreIndependentAndTheInverseIsExact) {
  const int64_t H = 16, D = 3;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  std::vector<double> x(H * D);
  for (auto& v : x) v = normal(rng);
  const Dct dct(H);
  const auto c = dct.forward(x, D);
  for (int64_t j = 0; j < D; ++j) {  // each column on its own equals the 1-D transform of it
    std::vector<double> column(H);
    for (int64_t n = 0; n < H; ++n) column[n] = x[n * D + j];
    const auto cj = dct.forward(column, 1);
    for (int64_t k = 0; k < H; ++k) EXPECT_NEAR(c[k * D + j], cj[k], 1e-12);
  }
  double energy_x = 0, energy_c = 0;  // orthonormal: Parseval holds
  for (size_t i = 0; i < x.size(); ++i) energy_x += x[i] * x[i], energy_c += c[i] * c[i];
  EXPECT_NEAR(energy_x, energy_c, 1e-9);
  const auto back = dct.inverse(c, D);
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(back[i], x[i], 1e-12);
  EXPECT_THROW(dct.forward(std::vector<double>(5), D), Error);
}

}  // namespace
}  // namespace engram
