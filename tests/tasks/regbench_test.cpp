#include "engram/tasks/regbench.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "engram/core/error.h"

namespace engram {
namespace {

// A table from (state, letter, target) triples.
Automaton make(int states, const std::vector<std::array<int, 3>>& edges) {
  std::vector<Automaton::Row> table(states);
  for (auto& row : table) row.fill(-1);
  for (const auto& [s, c, t] : edges) table[s][c] = t;
  return Automaton(table);
}

// The strings between separators.
std::vector<std::vector<int>> strings_of(const std::vector<int64_t>& tokens) {
  std::vector<std::vector<int>> strings(1);
  for (int64_t t : tokens) {
    if (t == kRegBenchSeparator) strings.emplace_back();
    else strings.back().push_back(static_cast<int>(t));
  }
  return strings;
}

// The true next-token distribution of every row, as score_regbench defines it.
std::vector<float> oracle(const RegBenchSequence& s) {
  std::vector<float> probs((s.tokens.size() - 1) * kRegBenchVocab, 0.0f);
  int state = 0;
  for (size_t i = 0; i + 1 < s.tokens.size(); ++i) {
    state = s.tokens[i] == kRegBenchSeparator ? 0 : s.automaton.next(state, static_cast<int>(s.tokens[i]));
    const auto legal = s.automaton.legal(state);
    for (int c : legal) probs[i * kRegBenchVocab + c] = 1.0f / static_cast<float>(legal.size());
  }
  return probs;
}

constexpr int a = 0, b = 1, c = 2, d = 3;

TEST(Automaton, MinimisationMergesEquivalentStatesOnly) {
  // 1 and 2 both only continue with c back to 0: one state. 3 is unreachable.
  const Automaton merged = make(4, {{0, a, 1}, {0, b, 2}, {1, c, 0}, {2, c, 0}, {3, d, 0}}).minimized();
  EXPECT_EQ(merged, make(2, {{0, a, 1}, {0, b, 1}, {1, c, 0}}));
  // 1 continues with c, 2 with d: different languages, three states.
  EXPECT_EQ(make(3, {{0, a, 1}, {0, b, 2}, {1, c, 0}, {2, d, 0}}).minimized().num_states(), 3);
  // 1 ≡ 2 only once 3 ≡ 4 is known: needs a second round of refinement.
  const Automaton chain = make(5, {{0, a, 1}, {0, b, 2}, {1, c, 3}, {2, c, 4}, {3, d, 0}, {4, d, 0}});
  EXPECT_EQ(chain.minimized(), make(3, {{0, a, 1}, {0, b, 1}, {1, c, 2}, {2, d, 0}}));
  // Not equivalent: after d, 3 returns to 0 but 4 goes to 1.
  EXPECT_EQ(make(5, {{0, a, 1}, {0, b, 2}, {1, c, 3}, {2, c, 4}, {3, d, 0}, {4, d, 1}}).minimized().num_states(), 5);
}

TEST(Automaton, MinimisedNumberingIsCanonical) {
  // The same language with states 1 and 2 swapped, and with a redundant copy of a state.
  const Automaton x = make(3, {{0, a, 1}, {0, b, 2}, {1, c, 0}, {2, d, 1}});
  const Automaton y = make(3, {{0, a, 2}, {0, b, 1}, {2, c, 0}, {1, d, 2}});
  const Automaton z = make(4, {{0, a, 2}, {0, b, 1}, {2, c, 0}, {1, d, 3}, {3, c, 0}});
  EXPECT_NE(x, y);
  EXPECT_EQ(x.minimized(), y.minimized());
  EXPECT_EQ(x.minimized(), z.minimized());
  EXPECT_EQ(x.minimized().minimized(), x.minimized());
}

TEST(Automaton, MinimisedAcceptsExactlyTheSamePrefixes) {
  std::mt19937_64 rng(11);
  int64_t rejected = 0, merged = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const Automaton original = Automaton::random(rng);
    const Automaton minimal = original.minimized();
    ASSERT_LE(minimal.num_states(), original.num_states());
    merged += minimal.num_states() < original.num_states();
    for (int w = 0; w < 20; ++w) {
      std::vector<int> walk = original.random_walk(30, rng);
      EXPECT_TRUE(minimal.accepts_prefix(walk));
      // One changed letter usually leaves the language; both must agree either way.
      walk[std::uniform_int_distribution<size_t>(0, walk.size() - 1)(rng)] =
          std::uniform_int_distribution<int>(0, kAutomatonLetters - 1)(rng);
      EXPECT_EQ(original.accepts_prefix(walk), minimal.accepts_prefix(walk));
      std::vector<int> noise(std::uniform_int_distribution<int>(1, 4)(rng));
      for (int& s : noise) s = std::uniform_int_distribution<int>(0, kAutomatonLetters - 1)(rng);
      EXPECT_EQ(original.accepts_prefix(noise), minimal.accepts_prefix(noise));
      rejected += !original.accepts_prefix(walk);
    }
  }
  EXPECT_GT(rejected, 1000) << "the mutated walks should exercise rejection";
  EXPECT_GT(merged, 10) << "random automata often have unreachable or equivalent states";
}

TEST(Automaton, RandomAutomatonFollowsTheSpecRanges) {
  std::mt19937_64 rng(5);
  std::set<int> states_seen, degrees_seen;
  size_t most_letters = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    const Automaton x = Automaton::random(rng);
    ASSERT_GE(x.num_states(), 4);
    ASSERT_LE(x.num_states(), 12);
    states_seen.insert(x.num_states());
    std::set<int> letters;
    for (int s = 0; s < x.num_states(); ++s) {
      const auto legal = x.legal(s);
      ASSERT_GE(legal.size(), 1u);
      ASSERT_LE(legal.size(), 3u);
      degrees_seen.insert(static_cast<int>(legal.size()));
      std::set<int> targets;
      for (int l : legal) {
        EXPECT_NE(x.next(s, l), s) << "no self loops";
        targets.insert(x.next(s, l));
        letters.insert(l);
      }
      EXPECT_EQ(targets.size(), legal.size()) << "distinct targets";
    }
    most_letters = std::max(most_letters, letters.size());
  }
  EXPECT_EQ(states_seen, (std::set<int>{4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(degrees_seen, (std::set<int>{1, 2, 3}));
  EXPECT_GE(most_letters, 15u);  // large alphabets occur
  EXPECT_LE(most_letters, 18u);
}

TEST(Automaton, WalkStopsAtAStateWithNoLetters) {
  const Automaton x = make(3, {{0, a, 1}, {1, b, 2}});
  std::mt19937_64 rng(0);
  EXPECT_EQ(x.random_walk(10, rng), (std::vector<int>{a, b}));
  EXPECT_EQ(x.legal(2), std::vector<int>{});
  EXPECT_EQ(x.next(0, static_cast<int>(kRegBenchSeparator)), -1);
  EXPECT_THROW(make(2, {{0, a, 2}}), Error);
}

TEST(RegBench, DeterministicForASeedAndDifferentForAnother) {
  RegBenchConfig config;
  config.train_languages = 20;
  config.test_languages = 10;
  const RegBenchData x = make_regbench(config), y = make_regbench(config);
  config.seed = 1;
  const RegBenchData z = make_regbench(config);
  ASSERT_EQ(x.train.size(), 20u);
  ASSERT_EQ(x.test.size(), 5u);
  ASSERT_EQ(x.validation.size(), 5u);
  for (size_t i = 0; i < x.train.size(); ++i) {
    EXPECT_EQ(x.train[i].tokens, y.train[i].tokens);
    EXPECT_EQ(x.train[i].automaton, y.train[i].automaton);
  }
  EXPECT_EQ(x.validation[4].tokens, y.validation[4].tokens);
  EXPECT_NE(x.train[0].tokens, z.train[0].tokens);
}

TEST(RegBench, SequencesParseBackIntoStringsOfTheirLanguage) {
  RegBenchConfig config;
  config.train_languages = 60;
  config.test_languages = 40;
  const RegBenchData data = make_regbench(config);
  std::set<std::vector<int64_t>> distinct;
  for (const auto* split : {&data.train, &data.test, &data.validation})
    for (const RegBenchSequence& s : *split) {
      distinct.insert(s.tokens);
      EXPECT_LE(s.automaton.num_states(), 12);
      EXPECT_LE(regbench_text(s.tokens).size(), 4096u);
      const auto strings = strings_of(s.tokens);
      EXPECT_GE(strings.size(), 10u);  // max_chars 4096 never cuts: at most 19·49 + 18 tokens
      EXPECT_LE(strings.size(), 19u);
      for (const auto& string : strings) {
        EXPECT_GE(string.size(), 1u);
        EXPECT_LE(string.size(), 49u);
        EXPECT_TRUE(s.automaton.accepts_prefix(string));
      }
      ASSERT_EQ(s.scored.size(), s.tokens.size() - 1);
      for (size_t i = 0; i < s.scored.size(); ++i) EXPECT_EQ(s.scored[i] != 0, s.tokens[i + 1] != kRegBenchSeparator);
    }
  EXPECT_EQ(distinct.size(), 100u);
}

TEST(RegBench, TextCutKeepsWholeTokensAndIsAPrefix) {
  RegBenchConfig config;
  config.train_languages = 10;
  config.test_languages = 0;
  const RegBenchData full = make_regbench(config);
  for (int64_t max_chars : {100, 101}) {
    config.max_chars = max_chars;
    const RegBenchData cut = make_regbench(config);
    for (size_t i = 0; i < full.train.size(); ++i) {
      const auto& tokens = cut.train[i].tokens;
      ASSERT_EQ(tokens.size(), 51u - static_cast<size_t>(max_chars == 100)) << "⌈max_chars/2⌉ one-character tokens";
      EXPECT_LE(regbench_text(tokens).size(), static_cast<size_t>(max_chars));
      EXPECT_TRUE(std::equal(tokens.begin(), tokens.end(), full.train[i].tokens.begin()));
      EXPECT_EQ(cut.train[i].scored.size(), tokens.size() - 1);
    }
  }
  EXPECT_EQ(regbench_text({0, 17, kRegBenchSeparator, 2, kRegBenchPad}), "a r | c .");
}

TEST(RegBench, RejectsBadConfigs) {
  RegBenchConfig config;
  config.train_languages = 0;
  EXPECT_THROW(make_regbench(config), Error);
  config.train_languages = 10;
  config.test_languages = 7;
  EXPECT_THROW(make_regbench(config), Error);
  config.test_languages = 10;
  config.max_chars = 2;
  EXPECT_THROW(make_regbench(config), Error);
}

TEST(RegBench, OracleScoresPerfectly) {
  RegBenchConfig config;
  config.train_languages = 10;
  config.test_languages = 10;
  RegBenchTally total;
  for (const RegBenchSequence& s : make_regbench(config).test) {
    const std::vector<float> probs = oracle(s);
    total += score_regbench(s.automaton, s.tokens, probs.data(), probs.size());
  }
  EXPECT_DOUBLE_EQ(total.accuracy(), 1.0);
  EXPECT_NEAR(total.tvd(), 0.0, 1e-6);
  EXPECT_GT(total.positions, total.predicted) << "rows before a separator count in TVD only";
}

TEST(RegBench, UniformModelMatchesHandComputedScores) {
  // 0 -a,b-> 1 -c-> 0. Tokens "a c | b": rows read a (state 1: {c}), c (state 0: {a, b}; next is
  // `|`), `|` (state 0: {a, b}). Uniform 1/20 against uniform over m letters: 2 − m/10.
  const Automaton x = make(2, {{0, a, 1}, {0, b, 1}, {1, c, 0}});
  const std::vector<int64_t> tokens{a, c, kRegBenchSeparator, b};
  const std::vector<float> probs(3 * kRegBenchVocab, 1.0f / kRegBenchVocab);
  const RegBenchTally t = score_regbench(x, tokens, probs.data(), probs.size());
  EXPECT_EQ(t.positions, 3);
  EXPECT_NEAR(t.l1, 1.9 + 1.8 + 1.8, 1e-6);
  // The tie goes to `a`: illegal in state 1, legal in state 0; the row before `|` is skipped.
  EXPECT_EQ(t.predicted, 2);
  EXPECT_EQ(t.correct, 1);
}

TEST(RegBench, AlwaysSeparatorModelIsNeverCorrect) {
  RegBenchConfig config;
  config.train_languages = 10;
  config.test_languages = 0;
  RegBenchTally total;
  for (const RegBenchSequence& s : make_regbench(config).train) {
    std::vector<float> probs((s.tokens.size() - 1) * kRegBenchVocab, 0.0f);
    for (size_t i = 0; i + 1 < s.tokens.size(); ++i) probs[i * kRegBenchVocab + kRegBenchSeparator] = 1.0f;
    total += score_regbench(s.automaton, s.tokens, probs.data(), probs.size());
  }
  EXPECT_GT(total.predicted, 100);
  EXPECT_EQ(total.correct, 0);
  EXPECT_NEAR(total.tvd(), 2.0, 1e-9);  // disjoint supports: 1 + 1 at every row
}

TEST(RegBench, ScoringRejectsMismatchedInputs) {
  const Automaton x = make(2, {{0, a, 1}, {1, c, 0}});
  const std::vector<float> probs(2 * kRegBenchVocab, 0.05f);
  EXPECT_THROW(score_regbench(x, {a, c, a}, probs.data(), probs.size() - 1), Error);
  EXPECT_THROW(score_regbench(x, {a, b, a}, probs.data(), probs.size()), Error);  // b is not in the language
  EXPECT_THROW(score_regbench(x, {a, c, kRegBenchPad}, probs.data(), probs.size()), Error);
  EXPECT_NO_THROW(score_regbench(x, {a, c, a}, probs.data(), probs.size()));
}

}  // namespace
}  // namespace engram
