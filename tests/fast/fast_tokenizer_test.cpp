// FAST tokens (KI spec §7.3 test 6): the round-trip error is what rounding at γ predicts, decoding
// says when it fails, and a tokenizer file is checked field by field.
#include "engram/fast/fast_tokenizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "engram/core/error.h"
#include "support/error_of.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

using testing::error_of;
constexpr int64_t H = 16, D = 3;

// n chunks of i.i.d. uniform noise in [lo, hi], or of smooth random sinusoids (spec §7.3 test 6).
std::vector<double> noise_chunks(int64_t n, uint64_t seed, double lo = -1, double hi = 1) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> x(static_cast<size_t>(n * H * D));
  for (auto& v : x) v = u(rng);
  return x;
}
std::vector<double> smooth_chunks(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> x(static_cast<size_t>(n * H * D));
  for (int64_t c = 0; c < n; ++c)
    for (int64_t j = 0; j < D; ++j) {
      const double amplitude = 0.5 + 0.5 * u(rng), phase = 6.28 * u(rng), freq = 0.05 + 0.1 * u(rng);
      for (int64_t t = 0; t < H; ++t) x[static_cast<size_t>((c * H + t) * D + j)] = amplitude * std::sin(phase + 6.28 * freq * t);
    }
  return x;
}

// Mean squared round-trip error in normalised units, and the decode failures.
double round_trip_mse(const FastTokenizer& tok, const std::vector<double>& chunks, double* tokens_per_chunk = nullptr) {
  double se = 0;
  int64_t tokens = 0;
  const int64_t n = static_cast<int64_t>(chunks.size()) / (H * D);
  for (int64_t c = 0; c < n; ++c) {
    const double* chunk = chunks.data() + c * H * D;
    const auto ids = tok.encode(chunk);
    tokens += static_cast<int64_t>(ids.size());
    const auto back = tok.decode(ids);
    EXPECT_TRUE(back.ok) << back.why;
    for (int64_t i = 0; i < H * D; ++i) {
      const double e = tok.quantiles().normalise(back.chunk[i], i % D) - tok.quantiles().normalise(chunk[i], i % D);
      se += e * e;
    }
  }
  if (tokens_per_chunk) *tokens_per_chunk = static_cast<double>(tokens) / static_cast<double>(n);
  return se / static_cast<double>(n * H * D);
}

TEST(FastTokenizer, RoundTripErrorIsTheRoundingErrorOfGamma) {
  for (double gamma : {5.0, 10.0, 20.0}) {
    SCOPED_TRACE(gamma);
    const auto tok = FastTokenizer::fit(noise_chunks(1000, 1), H, D, gamma, 256);
    const double predicted = 1.0 / (12 * gamma * gamma);  // uniform rounding errors, orthonormal DCT
    EXPECT_NEAR(round_trip_mse(tok, noise_chunks(200, 2)), predicted, 0.3 * predicted);
    double tokens = 0;
    const auto smooth = FastTokenizer::fit(smooth_chunks(1000, 3), H, D, gamma, 256);
    EXPECT_LT(round_trip_mse(smooth, smooth_chunks(200, 4), &tokens), predicted);
    // Smooth chunks compress (high frequencies round to zero), less so as γ keeps more of them.
    EXPECT_LT(tokens, (gamma <= 10 ? 0.5 : 0.75) * H * D);
  }
}

TEST(FastTokenizer, WrongLengthsAndUnknownIdsAreFailuresNotChunks) {
  const auto tok = FastTokenizer::fit(smooth_chunks(300, 5), H, D, 10, 128);
  const auto chunk = smooth_chunks(1, 6);
  auto ids = tok.encode(chunk.data());
  ASSERT_TRUE(tok.decode(ids).ok);
  for (const auto& broken : {std::vector<int64_t>(ids.begin(), ids.end() - 1), std::vector<int64_t>{}}) {
    const auto d = tok.decode(broken);
    EXPECT_FALSE(d.ok);
    EXPECT_NE(d.why.find("a chunk has 48"), std::string::npos) << d.why;
    ASSERT_EQ(d.chunk.size(), static_cast<size_t>(H * D));  // the fallback: the quantile midpoints
    for (int64_t j = 0; j < D; ++j)
      EXPECT_NEAR(d.chunk[j], (tok.quantiles().low[j] + tok.quantiles().high[j] + 1e-6) / 2, 1e-12);
  }
  ids.push_back(tok.vocab_size());
  const auto d = tok.decode(ids);
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.why.find("outside the vocabulary"), std::string::npos) << d.why;
}

TEST(FastTokenizer, ValuesBeyondTheFittedRangeAreClampedAndCounted) {
  const auto tok = FastTokenizer::fit(noise_chunks(300, 7), H, D, 10, 256);
  int64_t clamped = 0;
  tok.encode(noise_chunks(1, 8).data(), &clamped);
  EXPECT_EQ(clamped, 0);
  tok.encode(noise_chunks(1, 8, 50, 60).data(), &clamped);  // far outside what was fitted
  EXPECT_GT(clamped, 0);
}

TEST(FastTokenizer, TooManySymbolsForTheVocabularyIsAnError) {
  const auto msg = error_of([] { FastTokenizer::fit(noise_chunks(300, 9), H, D, 50, 64); });
  EXPECT_NE(msg.find("raise the vocabulary or lower γ"), std::string::npos) << msg;
}

TEST(FastTokenizer, FileRoundTripsAndMalformedFilesAreRefusedByField) {
  testing::TempDir dir;
  const auto tok = FastTokenizer::fit(smooth_chunks(300, 10), H, D, 10, 128);
  tok.save(dir.file("fast.json"));
  const auto back = FastTokenizer::load(dir.file("fast.json"));
  const auto chunk = smooth_chunks(1, 11);
  EXPECT_EQ(back.encode(chunk.data()), tok.encode(chunk.data()));
  EXPECT_EQ(back.to_json(), tok.to_json());

  auto broken = [&](const std::function<void(nlohmann::json&)>& edit) {
    auto j = tok.to_json();
    edit(j);
    return error_of([&] { FastTokenizer::from_json(j, "fast.json"); });
  };
  EXPECT_NE(broken([](auto& j) { j["format"] = "hf-fast"; }).find("fast.json: not a FAST tokenizer ('format'"), std::string::npos);
  EXPECT_NE(broken([](auto& j) { j.erase("gamma"); }).find("'gamma'"), std::string::npos);
  EXPECT_NE(broken([](auto& j) { j["q01"] = {0.0}; }).find("'q01' must hold one number per action dimension (3)"), std::string::npos);
  EXPECT_NE(broken([](auto& j) { j["merges"].push_back({0, 100000}); }).find("only ids below"), std::string::npos);
  EXPECT_NE(broken([](auto& j) { j["horizon"] = 0; }).find("'horizon' = 0"), std::string::npos);
  EXPECT_NE(broken([](auto& j) { j["q99"][1] = -100.0; }).find("q99 is below q01 in dimension 1"), std::string::npos);
}

}  // namespace
}  // namespace engram
