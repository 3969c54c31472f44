// Deterministic finite automata for RegBench (Memory Mosaics spec §6.3, §13.3): letters 0..17
// (a..r), every state accepting, partial transitions (a missing one goes to an implicit dead
// state), start state 0. Because every state accepts, "the automaton accepts this prefix" and
// "this string is in the language" are the same thing, and a state's language is fixed by which
// symbols it can follow next, recursively.
#pragma once

#include <array>
#include <random>
#include <vector>

namespace engram {

constexpr int kAutomatonLetters = 18;

class Automaton {
 public:
  using Row = std::array<int, kAutomatonLetters>;  // target state per letter, −1 = none

  // table[s][c] is the state reached from s on letter c, or −1. Throws engram::Error when the
  // table is empty or names a state out of range.
  explicit Automaton(std::vector<Row> table);

  // A random automaton drawn as in §6.3 (not minimised): n ~ U{4..12} states; an alphabet of
  // m ~ U{4..18} distinct letters; per state e ~ U{1,2,3} distinct letters of the alphabet, each
  // to one of e distinct states among the other n−1 (no self loops).
  static Automaton random(std::mt19937_64& rng);

  // The equivalent minimal automaton, trimmed of unreachable states and renumbered canonically
  // (breadth-first from the start, letters in order), so equal languages give equal tables.
  Automaton minimized() const;

  int num_states() const { return static_cast<int>(table_.size()); }
  const std::vector<Row>& table() const { return table_; }
  int next(int state, int symbol) const;      // −1 when `symbol` has no transition
  std::vector<int> legal(int state) const;    // the letters with a transition, ascending
  bool accepts_prefix(const std::vector<int>& symbols) const;
  // `length` letters from the start state, each uniform over the current state's legal letters;
  // shorter if it reaches a state with none.
  std::vector<int> random_walk(int length, std::mt19937_64& rng) const;

  bool operator==(const Automaton& other) const { return table_ == other.table_; }
  bool operator!=(const Automaton& other) const { return !(*this == other); }

 private:
  std::vector<Row> table_;
};

}  // namespace engram
