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

std::vector<double> uniform_chunks(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-2, 3);
  std::vector<double> x(static_cast<size_t>(n * H * D));
  for (auto& v : x) v = u(rng);
  return x;
}

TEST(BinTokenizer, EveryValueIsOneTokenDecodedWithinHalfABin) {
  const auto train = uniform_chunks(500, 1);
  const auto tok = BinTokenizer::fit(train, H, D, 32);
  const auto chunk = uniform_chunks(1, 2);
  int64_t clamped = 0;
  const auto ids = tok.encode(chunk.data(), &clamped);
  ASSERT_EQ(ids.size(), static_cast<size_t>(H * D));
  for (int64_t id : ids) EXPECT_TRUE(id >= 0 && id < 32) << id;
  const auto back = tok.decode(ids);
  ASSERT_TRUE(back.ok) << back.why;
  // q01 … q99 of U(−2, 3) is about −1.95 … 2.95: a bin is 4.9 / 32 wide.
  int64_t inside = 0;
  for (size_t i = 0; i < chunk.size(); ++i) {
    if (chunk[i] < -1.9 || chunk[i] > 2.9) continue;  // beyond the quantiles: clamped to the end bins
    ++inside;
    EXPECT_LE(std::abs(back.chunk[i] - chunk[i]), 0.5 * 4.92 / 32) << i;
  }
  EXPECT_GT(inside, 40);
  EXPECT_LE(clamped, 6);  // about 2 % of the values lie beyond q01/q99
}

TEST(BinTokenizer, WrongLengthsAndUnknownIdsAreFailuresNotChunks) {
  const auto tok = BinTokenizer::fit(uniform_chunks(100, 3), H, D, 32);
  const auto ids = tok.encode(uniform_chunks(1, 4).data());
  auto shorter = ids;
  shorter.pop_back();
  auto unknown = ids;
  unknown[5] = 32;
  for (const auto& bad : {shorter, unknown, std::vector<int64_t>{}}) {
    const auto d = tok.decode(bad);
    EXPECT_FALSE(d.ok);
    EXPECT_FALSE(d.why.empty());
    ASSERT_EQ(d.chunk.size(), static_cast<size_t>(H * D));  // the quantile midpoints, not garbage
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
