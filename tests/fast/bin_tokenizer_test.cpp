// R8's naïve action tokens: one token per value, decoded to its bin's centre (so the error is at
// most half a bin), failures flagged like FAST's, and a file that load_action_tokenizer tells
// apart from a FAST one.
#include "engram/fast/bin_tokenizer.h"

#include <gtest/gtest.h>

#include <random>

#include "engram/fast/fast_tokenizer.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

using testing::error_of;
constexpr int64_t H = 16, D = 3;

// Dimension d uniform on [−2 + d, 3 + 3d]: a different range each, so a value normalised with
// another dimension's quantiles lands in the wrong bin.
std::vector<double> uniform_chunks(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> x(static_cast<size_t>(n * H * D));
  for (size_t i = 0; i < x.size(); ++i) {
    const double d = static_cast<double>(i % D), lo = -2 + d, hi = 3 + 3 * d;
    x[i] = lo + (hi - lo) * u(rng);
  }
  return x;
}

TEST(BinTokenizer, EveryValueIsOneTokenDecodedWithinHalfABin) {
  const auto train = uniform_chunks(500, 1);
  const auto tok = BinTokenizer::fit(train, H, D, 32);
  const auto q = tok.to_json();
  const auto chunks = uniform_chunks(100, 2);
  int64_t clamped = 0, inside = 0;
  for (int64_t c = 0; c < 100; ++c) {
    const double* chunk = chunks.data() + c * H * D;
    const auto ids = tok.encode(chunk, &clamped);
    ASSERT_EQ(ids.size(), static_cast<size_t>(H * D));
    for (int64_t id : ids) ASSERT_TRUE(id >= 0 && id < 32) << id;
    const auto back = tok.decode(ids);
    ASSERT_TRUE(back.ok) << back.why;
    for (int64_t i = 0; i < H * D; ++i) {
      const double lo = q["q01"][i % D], hi = q["q99"][i % D], a = chunk[i];
      const double x = a < lo ? lo : a > hi ? hi : a;  // beyond the quantiles: the end bins
      inside += a == x;
      EXPECT_LE(std::abs(back.chunk[static_cast<size_t>(i)] - x), 0.5 * (hi - lo) / 32 + 1e-6) << i;
    }
  }
  // About 2 % of the 4,800 values lie beyond q01/q99, and each was counted.
  EXPECT_EQ(clamped, 100 * H * D - inside);
  EXPECT_GT(clamped, 40);
  EXPECT_LT(clamped, 160);
}

TEST(BinTokenizer, WrongLengthsAndUnknownIdsAreFailuresNotChunks) {
  const auto tok = BinTokenizer::fit(uniform_chunks(100, 3), H, D, 32);
  const auto ids = tok.encode(uniform_chunks(1, 4).data());
  auto shorter = ids;
  shorter.pop_back();
  auto unknown = ids;
  unknown[5] = 32;
  const auto q = tok.to_json();
  for (const auto& bad : {shorter, unknown, std::vector<int64_t>{}}) {
    const auto d = tok.decode(bad);
    EXPECT_FALSE(d.ok);
    EXPECT_FALSE(d.why.empty());
    ASSERT_EQ(d.chunk.size(), static_cast<size_t>(H * D));  // the quantile midpoints, not garbage
    for (int64_t i = 0; i < H * D; ++i)
      EXPECT_NEAR(d.chunk[static_cast<size_t>(i)], (q["q01"][i % D].get<double>() + q["q99"][i % D].get<double>()) / 2, 1e-6);
  }
  EXPECT_NE(tok.decode(unknown).why.find("token id 32 is outside the bins 0…31"), std::string::npos);
}

TEST(BinTokenizer, FileRoundTripsAndIsToldApartFromFast) {
  testing::TempDir dir;
  const auto bins = BinTokenizer::fit(uniform_chunks(100, 5), H, D, 16);
  bins.save(dir.file("bins.json"));
  const auto chunk = uniform_chunks(1, 6);
  const auto loaded = load_action_tokenizer(dir.file("bins.json"));
  ASSERT_NE(dynamic_cast<const BinTokenizer*>(loaded.get()), nullptr);
  EXPECT_EQ(loaded->encode(chunk.data()), bins.encode(chunk.data()));
  const auto fast = FastTokenizer::fit(uniform_chunks(100, 7), H, D, 5, 256);
  fast.save(dir.file("fast.json"));
  EXPECT_NE(dynamic_cast<const FastTokenizer*>(load_action_tokenizer(dir.file("fast.json")).get()), nullptr);

  auto broken = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto j = bins.to_json();
    edit(j);
    return error_of([&] { BinTokenizer::from_json(j, "bins.json"); });
  };
  EXPECT_NE(broken([](auto& j) { j["bins"] = 1; }).find("bins.json: not an action-bin tokenizer ('bins' = 1"), std::string::npos);
  EXPECT_NE(broken([](auto& j) { j["q99"] = {1.0, 2.0}; }).find("'q99' must hold one number per action dimension (3)"),
            std::string::npos);
  auto j = bins.to_json();
  j["format"] = "mystery";
  EXPECT_NE(error_of([&] { action_tokenizer_from_json(j, "x.json"); }).find("x.json: not an action tokenizer ('format' must be"),
            std::string::npos);
}

}  // namespace
}  // namespace engram
