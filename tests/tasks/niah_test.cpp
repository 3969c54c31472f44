#include "engram/tasks/niah.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "engram/core/error.h"
#include "engram/seq/model.h"

namespace engram {
namespace {

constexpr int64_t kNeedle = 2, kQuery = 3, kAnswer = 4;

NiahTask task(const std::string& haystack) {
  NiahConfig c;
  c.haystack = parse_name<Haystack>(haystack, "haystack");
  c.eval_lengths = {128, 700};
  c.eval_samples = 30;
  return NiahTask(c);
}

// Positions where a needle starts in one input row.
std::vector<int64_t> needles(const torch::Tensor& row) {
  std::vector<int64_t> at;
  for (int64_t t = 0; t < row.size(0); ++t)
    if (row[t].item<int64_t>() == kNeedle) at.push_back(t);
  return at;
}

TEST(Niah, TheAnswerIsTheValueOfTheNeedleWithTheQueriedKey) {
  for (const char* haystack : {"pk", "n", "w"}) {
    auto t = task(haystack);
    const int64_t m = t.value_length();
    std::mt19937_64 rng(1);
    std::set<int64_t> depths;
    for (int rep = 0; rep < 40; ++rep) {
      auto b = t.sample(4, rng);
      const int64_t L = b.inputs.size(1);
      ASSERT_GE(L, 64);
      ASSERT_LE(L, 256);
      for (int64_t r = 0; r < 4; ++r) {
        auto row = b.inputs[r];
        EXPECT_EQ(b.score_mask[r].sum().item<int64_t>(), m);
        EXPECT_TRUE(b.score_mask[r].narrow(0, L - m, m).all().item<bool>());
        EXPECT_EQ(row[L - m - 3].item<int64_t>(), kQuery) << haystack;
        EXPECT_EQ(row[L - m].item<int64_t>(), kAnswer) << haystack;
        const int64_t k1 = row[L - m - 2].item<int64_t>(), k2 = row[L - m - 1].item<int64_t>();
        int matches = 0;
        for (int64_t at : needles(row)) {
          if (row[at + 1].item<int64_t>() != k1 || row[at + 2].item<int64_t>() != k2) continue;
          ++matches;
          depths.insert(at);
          EXPECT_TRUE(torch::equal(row.narrow(0, at + 3, m), b.targets[r].narrow(0, L - m, m))) << haystack;
        }
        EXPECT_EQ(matches, 1) << haystack << ": exactly one needle carries the queried key";
        EXPECT_EQ(static_cast<int64_t>(needles(row).size()) > 1, std::string(haystack) == "w");
      }
    }
    EXPECT_GT(depths.size(), 20u) << "needles sit at many depths";
  }
}

TEST(Niah, PasskeyHaystackRepeatsAPatternAndRefusesTooShortLengths) {
  auto t = task("pk");
  std::mt19937_64 rng(2);
  auto row = t.sample_length(1, 200, rng).inputs[0];
  // Far from the needle (at least 8 + 7 tokens away), the haystack repeats with period 8.
  const int64_t at = needles(row).front();
  int periodic = 0;
  for (int64_t i = 1; i + 8 < 196; ++i)
    if ((i + 8 < at || i > at + 7) && row[i].item<int64_t>() == row[i + 8].item<int64_t>()) ++periodic;
  EXPECT_GT(periodic, 150);
  EXPECT_THROW(NiahConfig::from_json({{"name", "niah"}, {"haystack", "w"}, {"min_length", 30}}, "task"), Error);
  EXPECT_THROW(NiahConfig::from_json({{"name", "niah"}, {"eval_lengths", {256, "x"}}}, "task"), Error);
  EXPECT_THROW(NiahConfig::from_json({{"name", "niah"}, {"haystak", "n"}}, "task"), Error);
}

// A model that answers by reading the haystack: after QUERY k₁ k₂ ANSWER it emits the value of the
// needle with that key (or, when `ignore_key`, of the first needle it finds).
class Oracle : public SequenceModel {
 public:
  explicit Oracle(bool ignore_key) : ignore_key_(ignore_key) { register_parameter("unused", torch::zeros({1})); }
  torch::Tensor embed(const torch::Tensor& tokens) override { return tokens.to(torch::kFloat).unsqueeze(-1); }
  torch::Tensor hidden(const torch::Tensor& x) override {
    auto tokens = x.squeeze(-1).to(torch::kLong);
    auto next = torch::zeros_like(tokens);
    for (int64_t b = 0; b < tokens.size(0); ++b) {
      auto row = tokens[b];
      const int64_t T = row.size(0);
      for (int64_t a = 3; a < T; ++a) {
        if (row[a].item<int64_t>() != kAnswer || row[a - 3].item<int64_t>() != kQuery) continue;
        const int64_t k1 = row[a - 2].item<int64_t>(), k2 = row[a - 1].item<int64_t>();
        for (int64_t at : needles(row.narrow(0, 0, a - 3))) {
          if (!ignore_key_ && (row[at + 1].item<int64_t>() != k1 || row[at + 2].item<int64_t>() != k2)) continue;
          for (int64_t j = 0; a + j < T; ++j) next[b][a + j] = row[at + 3 + j];
          break;
        }
      }
    }
    return torch::one_hot(next, 95).to(torch::kFloat);
  }
  OutputHead head() const override { return {torch::eye(95)}; }  // hidden() is already one-hot
  std::unique_ptr<DecodeState> init_state(int64_t) override { throw Error("oracle: no decoding"); }
  torch::Tensor step(DecodeState&, const torch::Tensor&) override { throw Error("oracle: no decoding"); }
  ModelDescription describe() const override { return {}; }
  nlohmann::json config() const override { return {}; }
  int64_t vocab_size() const override { return 95; }
  int64_t max_context() const override { return -1; }

 private:
  bool ignore_key_;
};

TEST(Niah, ScoreIsExactMatchAtEveryEvaluationLength) {
  for (const char* haystack : {"n", "w"}) {
    auto t = task(haystack);
    EXPECT_EQ(t.vocab_size(), 95);
    Oracle reader(false), careless(true);
    auto s = t.score(reader);
    EXPECT_EQ(s["exact_match_128"].get<double>(), 1.0) << haystack;
    EXPECT_EQ(s["exact_match_700"].get<double>(), 1.0) << haystack;
    // Reading the first needle regardless of its key fails only where there are distractors.
    auto c = t.score(careless);
    if (std::string(haystack) == "n") EXPECT_EQ(c["exact_match_700"].get<double>(), 1.0);
    else EXPECT_LT(c["exact_match_700"].get<double>(), 0.8);
  }
}

}  // namespace
}  // namespace engram
