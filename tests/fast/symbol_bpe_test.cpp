// Integer-symbol BPE: lossless, deterministic, and strict about ids it does not know.
#include "engram/fast/symbol_bpe.h"

#include <gtest/gtest.h>

#include <random>

#include "engram/core/error.h"

namespace engram {
namespace {

TEST(SymbolBpe, MergesTheMostFrequentPairFirstAndTiesToTheSmallest) {
  // (1, 2) occurs 4 times (identical sequences count twice); after it is merged into 3, the pairs
  // (0, 1) and (3, 3) both occur twice and the smaller goes first; nothing else occurs twice.
  const std::vector<std::vector<int64_t>> data = {{1, 2, 1, 2}, {1, 2, 1, 2}, {0, 1, 0, 1}};
  const auto bpe = SymbolBpe::fit(data, 3, 10);
  EXPECT_EQ(bpe.merges(), (std::vector<SymbolBpe::Pair>{{1, 2}, {0, 1}, {3, 3}}));
  EXPECT_EQ(bpe.vocab_size(), 6);  // fewer than asked for: min_frequency 2 ends it
  EXPECT_EQ(bpe.encode({1, 2, 1, 2}), std::vector<int64_t>({5}));
  EXPECT_EQ(bpe.encode({0, 1, 2}), std::vector<int64_t>({0, 3}));  // lowest rank first: (1, 2) before (0, 1)
}

TEST(SymbolBpe, EncodeDecodeIsLosslessOnAnySymbolString) {
  std::mt19937_64 rng(7);
  std::geometric_distribution<int64_t> zipf(0.3);  // skewed, like DCT symbols around zero
  std::vector<std::vector<int64_t>> data(300);
  for (auto& s : data) {
    s.resize(48);
    for (auto& x : s) x = std::min<int64_t>(zipf(rng), 19);
  }
  const auto bpe = SymbolBpe::fit(data, 20, 120);
  EXPECT_EQ(bpe.vocab_size(), 120);
  size_t tokens = 0;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<int64_t> s(1 + trial % 60);
    for (auto& x : s) x = std::min<int64_t>(zipf(rng), 19);
    const auto ids = bpe.encode(s);
    tokens += ids.size();
    std::vector<int64_t> back;
    ASSERT_TRUE(bpe.decode(ids, back));
    EXPECT_EQ(back, s);
  }
  EXPECT_LT(tokens, 200u * 30u);  // it compresses (the strings average 30 symbols)
  std::vector<int64_t> out;
  EXPECT_FALSE(bpe.decode({3, 120}, out));
  EXPECT_FALSE(bpe.decode({-1}, out));
  EXPECT_THROW(bpe.encode({20}), Error);
}

TEST(SymbolBpe, RefusesMergesOfIdsThatDoNotExistYet) {
  EXPECT_THROW(SymbolBpe(4, {{0, 1}, {5, 2}}), Error);  // id 5 is made by no earlier merge
  EXPECT_THROW(SymbolBpe(4, {{0, 1}, {0, 1}}), Error);
  EXPECT_NO_THROW(SymbolBpe(4, {{0, 1}, {4, 2}}));
  EXPECT_THROW(SymbolBpe::fit({{0, 1}}, 4, 3), Error);  // a vocabulary smaller than the alphabet
}

}  // namespace
}  // namespace engram
