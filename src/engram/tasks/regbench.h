// RegBench: in-context learning of random regular languages (Memory Mosaics spec §6.3, §13.3;
// Akyürek et al. 2024). Every sequence holds 10..19 strings of one unseen random automaton,
// separated by `|`; a model scores well only by inferring the language in context.
//
// Tokens: letters a..r = 0..17, separator `|` = 18, pad `.` = 19. A sequence of n tokens trains
// inputs tokens[0..n−2] on targets tokens[1..n−1]; targets equal to `|` are not scored (where a
// string ends is unpredictable). Plain C++: the trainer turns these into tensors.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "engram/tasks/automaton.h"

namespace engram {

constexpr int64_t kRegBenchSeparator = 18;
constexpr int64_t kRegBenchPad = 19;
constexpr int64_t kRegBenchVocab = 20;

struct RegBenchConfig {
  int64_t train_languages = 100;  // N_train
  int64_t test_languages = 500;   // N_test: half test, half validation (so it must be even)
  uint64_t seed = 0;
  int64_t max_chars = 4096;  // cut of the space-separated text ("a b | c")
};

struct RegBenchSequence {
  Automaton automaton;             // minimised; the sequence's strings are walks of it
  std::vector<int64_t> tokens;     // n tokens, no padding
  std::vector<uint8_t> scored;     // n−1 flags: scored[i] = (tokens[i+1] is a letter)
};

struct RegBenchData {
  std::vector<RegBenchSequence> train, test, validation;
};

// N_train + N_test automata, each drawn (Automaton::random, then minimised) together with its
// sequence from its own generator seeded by the master generator; the master generator then
// shuffles them, and they split into N_train train, N_test/2 test, N_test/2 validation.
// Duplicate languages are kept, as the reference does in practice. Throws engram::Error on a bad
// config.
RegBenchData make_regbench(const RegBenchConfig& config);

// One sequence of `automaton`: k ~ U{10..19} random walks of lengths ℓ ~ U{1..49} from the start
// state, joined by separators; then cut to the tokens whose text form fits in max_chars characters.
RegBenchSequence sample_regbench_sequence(const Automaton& automaton, int64_t max_chars, std::mt19937_64& rng);

// The text form: tokens as a..r, `|`, `.`, separated by single spaces.
std::string regbench_text(const std::vector<int64_t>& tokens);

// Sums over the positions of one or more sequences; micro-average by adding tallies.
struct RegBenchTally {
  int64_t correct = 0;    // accuracy: arg-max is a legal next letter …
  int64_t predicted = 0;  // … out of the positions whose true next token is a letter
  double l1 = 0;          // total variation in the L1 form, Σ_v |p_model(v) − p_true(v)| ∈ [0, 2] …
  int64_t positions = 0;  // … summed over every position
  double accuracy() const;
  double tvd() const;
  RegBenchTally& operator+=(const RegBenchTally& other);
};

// Scores a model's next-token probabilities `probs`, row-major [n−1][20], row i predicting
// tokens[i+1] after reading tokens[0..i]. The "current state" at row i is the automaton's state
// after the letters of tokens[0..i] since the last separator (the start state when tokens[i] is
// `|`). Accuracy: rows whose true next token is `|` are skipped; the others count as correct when
// the arg-max over all 20 tokens (ties to the lowest id) is a letter the current state can follow.
// TVD: every row, including those before a separator, against the uniform distribution over the
// current state's legal letters (a point mass on `|` for a state with none: the string must end).
// Throws engram::Error when probs_size ≠ (n−1)·20 or the tokens leave the automaton's language.
RegBenchTally score_regbench(const Automaton& automaton, const std::vector<int64_t>& tokens, const float* probs,
                             size_t probs_size);

}  // namespace engram
