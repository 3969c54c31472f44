#include "engram/tasks/regbench.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

#include "engram/core/error.h"

namespace engram {

RegBenchSequence sample_regbench_sequence(const Automaton& automaton, int64_t max_chars, std::mt19937_64& rng) {
  if (max_chars < 3) throw Error("regbench max_chars = " + std::to_string(max_chars) + " must be at least 3 (two tokens)");
  // std::uniform_int_distribution, not numpy: deterministic per seed, not the reference's draws.
  RegBenchSequence sequence{automaton, {}, {}};
  const int strings = std::uniform_int_distribution<int>(10, 19)(rng);
  for (int k = 0; k < strings; ++k) {
    if (k > 0) sequence.tokens.push_back(kRegBenchSeparator);
    for (int c : automaton.random_walk(std::uniform_int_distribution<int>(1, 49)(rng), rng))
      sequence.tokens.push_back(c);
  }
  // Every token is one character and the text puts one space between tokens, so its first
  // max_chars characters hold exactly ⌈max_chars/2⌉ whole tokens: the cut never splits a token.
  const auto keep = static_cast<size_t>((max_chars + 1) / 2);
  if (sequence.tokens.size() > keep) sequence.tokens.resize(keep);
  for (size_t i = 1; i < sequence.tokens.size(); ++i) sequence.scored.push_back(sequence.tokens[i] != kRegBenchSeparator);
  return sequence;
}

RegBenchData make_regbench(const RegBenchConfig& config) {
  if (config.train_languages < 1)
    throw Error("regbench train_languages = " + std::to_string(config.train_languages) + " must be at least 1");
  if (config.test_languages < 0 || config.test_languages % 2 != 0)
    throw Error("regbench test_languages = " + std::to_string(config.test_languages) +
                " must be even and non-negative: half are the test split, half the validation split");
  std::mt19937_64 master(config.seed);
  std::vector<RegBenchSequence> all;
  all.reserve(static_cast<size_t>(config.train_languages + config.test_languages));
  for (int64_t i = 0; i < config.train_languages + config.test_languages; ++i) {
    // Its own generator per language, as in the reference.
    std::mt19937_64 rng(master());
    const Automaton automaton = Automaton::random(rng).minimized();
    all.push_back(sample_regbench_sequence(automaton, config.max_chars, rng));
  }
  // std::shuffle's algorithm, like uniform_int_distribution's, belongs to the standard library.
  std::shuffle(all.begin(), all.end(), master);
  RegBenchData data;
  auto take = [&](std::vector<RegBenchSequence>& split, int64_t begin, int64_t count) {
    split.assign(std::make_move_iterator(all.begin() + begin), std::make_move_iterator(all.begin() + begin + count));
  };
  const int64_t half = config.test_languages / 2;
  take(data.train, 0, config.train_languages);
  take(data.test, config.train_languages, half);
  take(data.validation, config.train_languages + half, half);
  return data;
}

std::string regbench_text(const std::vector<int64_t>& tokens) {
  std::string text;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int64_t t = tokens[i];
    if (t < 0 || t >= kRegBenchVocab)
      throw Error("regbench token " + std::to_string(t) + " is outside the vocabulary 0.." + std::to_string(kRegBenchVocab - 1));
    if (i > 0) text += ' ';
    text += t == kRegBenchSeparator ? '|' : t == kRegBenchPad ? '.' : static_cast<char>('a' + t);
  }
  return text;
}

double RegBenchTally::accuracy() const {
  return predicted > 0 ? static_cast<double>(correct) / predicted : std::numeric_limits<double>::quiet_NaN();
}

double RegBenchTally::tvd() const { return positions > 0 ? l1 / positions : std::numeric_limits<double>::quiet_NaN(); }

RegBenchTally& RegBenchTally::operator+=(const RegBenchTally& other) {
  correct += other.correct;
  predicted += other.predicted;
  l1 += other.l1;
  positions += other.positions;
  return *this;
}

RegBenchTally score_regbench(const Automaton& automaton, const std::vector<int64_t>& tokens, const float* probs,
                             size_t probs_size) {
  const size_t n = tokens.size(), rows = n > 0 ? n - 1 : 0;
  if (probs_size != rows * kRegBenchVocab)
    throw Error("regbench scoring got " + std::to_string(probs_size) + " probabilities for " + std::to_string(n) +
                " tokens; it needs (tokens − 1) × " + std::to_string(kRegBenchVocab) + " = " +
                std::to_string(rows * kRegBenchVocab));
  RegBenchTally tally;
  int state = 0;
  for (size_t i = 0; i < n; ++i) {
    const int64_t token = tokens[i];
    if (token == kRegBenchSeparator) {
      state = 0;
    } else if (token >= 0 && token < kAutomatonLetters) {
      if ((state = automaton.next(state, static_cast<int>(token))) < 0)
        throw Error("regbench token " + std::to_string(i) + " leaves the automaton's language: the tokens were not drawn from it");
    } else {
      throw Error("regbench token " + std::to_string(i) + " = " + std::to_string(token) + " is neither a letter nor `|`");
    }
    if (i == rows) break;  // the last token has no row: nothing predicts past it
    const float* p = probs + i * kRegBenchVocab;
    const std::vector<int> legal = automaton.legal(state);
    std::array<double, kRegBenchVocab> truth{};
    if (legal.empty()) truth[kRegBenchSeparator] = 1.0;
    for (int c : legal) truth[c] = 1.0 / static_cast<double>(legal.size());
    for (int64_t v = 0; v < kRegBenchVocab; ++v) tally.l1 += std::abs(static_cast<double>(p[v]) - truth[v]);
    ++tally.positions;
    if (tokens[i + 1] == kRegBenchSeparator) continue;
    const auto guess = static_cast<int>(std::max_element(p, p + kRegBenchVocab) - p);  // first maximum on ties
    tally.correct += automaton.next(state, guess) >= 0;  // −1 for `|` and `.`: not letters
    ++tally.predicted;
  }
  return tally;
}

}  // namespace engram
