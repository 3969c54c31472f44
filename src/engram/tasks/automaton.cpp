#include "engram/tasks/automaton.h"

#include <map>
#include <string>
#include <utility>

#include "engram/core/error.h"

namespace engram {
namespace {

// Integers use std::uniform_int_distribution on mt19937_64, not numpy's generator: the draws are
// deterministic for a seed (and a standard library) but not bit-compatible with the reference.
int uniform(int lo, int hi, std::mt19937_64& rng) { return std::uniform_int_distribution<int>(lo, hi)(rng); }

// `count` distinct items of `pool` in draw order: a partial Fisher–Yates shuffle.
std::vector<int> draw_distinct(std::vector<int> pool, int count, std::mt19937_64& rng) {
  for (int i = 0; i < count; ++i) std::swap(pool[i], pool[uniform(i, static_cast<int>(pool.size()) - 1, rng)]);
  pool.resize(count);
  return pool;
}

}  // namespace

Automaton::Automaton(std::vector<Row> table) : table_(std::move(table)) {
  if (table_.empty()) throw Error("an automaton needs at least one state");
  for (size_t s = 0; s < table_.size(); ++s)
    for (int c = 0; c < kAutomatonLetters; ++c)
      if (table_[s][c] < -1 || table_[s][c] >= num_states())
        throw Error("automaton state " + std::to_string(s) + " goes to state " + std::to_string(table_[s][c]) +
                    " on letter " + std::to_string(c) + ", outside 0.." + std::to_string(num_states() - 1));
}

Automaton Automaton::random(std::mt19937_64& rng) {
  const int n = uniform(4, 12, rng);
  const int m = uniform(4, kAutomatonLetters, rng);
  std::vector<int> letters(kAutomatonLetters);
  for (int c = 0; c < kAutomatonLetters; ++c) letters[c] = c;
  const std::vector<int> alphabet = draw_distinct(letters, m, rng);
  std::vector<Row> table(n);
  for (int s = 0; s < n; ++s) {
    table[s].fill(-1);
    const int e = uniform(1, 3, rng);
    const std::vector<int> symbols = draw_distinct(alphabet, e, rng);
    std::vector<int> others;
    for (int t = 0; t < n; ++t)
      if (t != s) others.push_back(t);
    const std::vector<int> targets = draw_distinct(others, e, rng);
    for (int i = 0; i < e; ++i) table[s][symbols[i]] = targets[i];
  }
  return Automaton(std::move(table));
}

Automaton Automaton::minimized() const {
  // Moore's partition refinement with the dead state made explicit as state n. It starts from
  // {live states} vs {dead} (accepting vs not) and splits classes by the classes their successors
  // fall in, until the number of classes stops growing.
  const int n = num_states(), dead = n;
  auto successor = [&](int s, int c) {
    const int t = s == dead ? -1 : table_[s][c];
    return t < 0 ? dead : t;
  };
  std::vector<int> cls(n + 1, 1);
  cls[dead] = 0;
  for (size_t classes = 2;;) {
    std::map<std::vector<int>, int> ids;
    std::vector<int> refined(n + 1);
    for (int s = 0; s <= n; ++s) {
      std::vector<int> signature{cls[s]};
      for (int c = 0; c < kAutomatonLetters; ++c) signature.push_back(cls[successor(s, c)]);
      refined[s] = ids.emplace(std::move(signature), static_cast<int>(ids.size())).first->second;
    }
    cls = std::move(refined);
    if (ids.size() == classes) break;
    classes = ids.size();
  }
  // Number the classes breadth-first from the start, letters in order: the minimal automaton is
  // unique up to renaming, so this numbering is canonical. Classes the search never reaches are
  // the unreachable states, and the dead class is left out (its transitions become −1).
  std::vector<int> number(n + 1, -1), representative{0};
  number[cls[0]] = 0;
  for (size_t i = 0; i < representative.size(); ++i)
    for (int c = 0; c < kAutomatonLetters; ++c) {
      const int t = table_[representative[i]][c];
      if (t >= 0 && number[cls[t]] < 0) {
        number[cls[t]] = static_cast<int>(representative.size());
        representative.push_back(t);
      }
    }
  std::vector<Row> table(representative.size());
  for (size_t i = 0; i < representative.size(); ++i)
    for (int c = 0; c < kAutomatonLetters; ++c) {
      const int t = table_[representative[i]][c];
      table[i][c] = t < 0 ? -1 : number[cls[t]];
    }
  return Automaton(std::move(table));
}

int Automaton::next(int state, int symbol) const {
  if (state < 0 || state >= num_states())
    throw Error("automaton state " + std::to_string(state) + " is outside 0.." + std::to_string(num_states() - 1));
  return symbol < 0 || symbol >= kAutomatonLetters ? -1 : table_[state][symbol];
}

std::vector<int> Automaton::legal(int state) const {
  std::vector<int> symbols;
  for (int c = 0; c < kAutomatonLetters; ++c)
    if (next(state, c) >= 0) symbols.push_back(c);
  return symbols;
}

bool Automaton::accepts_prefix(const std::vector<int>& symbols) const {
  int state = 0;
  for (int c : symbols)
    if ((state = next(state, c)) < 0) return false;
  return true;
}

std::vector<int> Automaton::random_walk(int length, std::mt19937_64& rng) const {
  std::vector<int> walk;
  int state = 0;
  for (int i = 0; i < length; ++i) {
    const std::vector<int> options = legal(state);
    if (options.empty()) break;
    walk.push_back(options[uniform(0, static_cast<int>(options.size()) - 1, rng)]);
    state = next(state, walk.back());
  }
  return walk;
}

}  // namespace engram
