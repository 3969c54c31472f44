#include "engram/fast/symbol_bpe.h"

#include <string>

#include "engram/core/error.h"

namespace engram {

SymbolBpe::SymbolBpe(int64_t alphabet, std::vector<Pair> merges) : alphabet_(alphabet), merges_(std::move(merges)) {
  if (alphabet_ < 1) throw Error("BPE: the alphabet must hold at least one symbol");
  for (size_t r = 0; r < merges_.size(); ++r) {
    const auto [a, b] = merges_[r];
    const int64_t known = alphabet_ + static_cast<int64_t>(r);
    if (a < 0 || b < 0 || a >= known || b >= known)
      throw Error("BPE: merge " + std::to_string(r) + " joins ids " + std::to_string(a) + " and " + std::to_string(b) +
                  ", but only ids below " + std::to_string(known) + " exist before it");
    if (!rank_.emplace(merges_[r], static_cast<int64_t>(r)).second)
      throw Error("BPE: merge " + std::to_string(r) + " repeats an earlier merge");
    std::vector<int64_t> e;
    for (int64_t id : {a, b}) {
      if (id < alphabet_) e.push_back(id);
      else e.insert(e.end(), expansion_[static_cast<size_t>(id - alphabet_)].begin(), expansion_[static_cast<size_t>(id - alphabet_)].end());
    }
    expansion_.push_back(std::move(e));
  }
}

namespace {

// Replaces every non-overlapping (a, b), left to right, by t.
std::vector<int64_t> merge_pair(const std::vector<int64_t>& s, int64_t a, int64_t b, int64_t t) {
  std::vector<int64_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
      out.push_back(t);
      ++i;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

void count_pairs(const std::vector<int64_t>& s, int64_t weight, std::map<SymbolBpe::Pair, int64_t>& counts) {
  for (size_t i = 0; i + 1 < s.size(); ++i) counts[{s[i], s[i + 1]}] += weight;
}

}  // namespace

SymbolBpe SymbolBpe::fit(const std::vector<std::vector<int64_t>>& sequences, int64_t alphabet, int64_t vocab_size,
                         int64_t min_frequency) {
  if (vocab_size < alphabet)
    throw Error("BPE: a vocabulary of " + std::to_string(vocab_size) + " cannot hold the " + std::to_string(alphabet) + " symbols");
  std::map<std::vector<int64_t>, int64_t> unique;  // identical chunks are counted, not repeated
  for (const auto& s : sequences) {
    for (int64_t x : s)
      if (x < 0 || x >= alphabet) throw Error("BPE: symbol " + std::to_string(x) + " is outside the alphabet 0…" + std::to_string(alphabet - 1));
    ++unique[s];
  }
  std::vector<std::vector<int64_t>> words;
  std::vector<int64_t> weights;
  for (auto& [s, w] : unique) {
    words.push_back(s);
    weights.push_back(w);
  }
  std::map<Pair, int64_t> counts;
  for (size_t i = 0; i < words.size(); ++i) count_pairs(words[i], weights[i], counts);

  std::vector<Pair> merges;
  while (alphabet + static_cast<int64_t>(merges.size()) < vocab_size) {
    Pair best{-1, -1};
    int64_t most = 0;
    for (const auto& [pair, n] : counts)  // ascending pairs: a tie keeps the smallest
      if (n > most) most = n, best = pair;
    if (most < min_frequency) break;
    const int64_t t = alphabet + static_cast<int64_t>(merges.size());
    merges.push_back(best);
    // Only words holding the pair change: take their old pairs out and their new pairs in.
    for (size_t i = 0; i < words.size(); ++i) {
      auto& s = words[i];
      bool holds = false;
      for (size_t k = 0; k + 1 < s.size() && !holds; ++k) holds = s[k] == best.first && s[k + 1] == best.second;
      if (!holds) continue;
      count_pairs(s, -weights[i], counts);
      s = merge_pair(s, best.first, best.second, t);
      count_pairs(s, weights[i], counts);
    }
    for (auto it = counts.begin(); it != counts.end();) it = it->second == 0 ? counts.erase(it) : std::next(it);
  }
  return SymbolBpe(alphabet, std::move(merges));
}

std::vector<int64_t> SymbolBpe::encode(const std::vector<int64_t>& symbols) const {
  for (int64_t x : symbols)
    if (x < 0 || x >= alphabet_) throw Error("BPE: symbol " + std::to_string(x) + " is outside the alphabet 0…" + std::to_string(alphabet_ - 1));
  std::vector<int64_t> s = symbols;
  while (s.size() > 1) {
    int64_t best = -1;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const auto it = rank_.find({s[i], s[i + 1]});
      if (it != rank_.end() && (best < 0 || it->second < best)) best = it->second;
    }
    if (best < 0) break;
    const auto& pair = merges_[static_cast<size_t>(best)];
    s = merge_pair(s, pair.first, pair.second, alphabet_ + best);
  }
  return s;
}

bool SymbolBpe::decode(const std::vector<int64_t>& ids, std::vector<int64_t>& symbols) const {
  symbols.clear();
  for (int64_t id : ids) {
    if (id < 0 || id >= vocab_size()) return false;
    if (id < alphabet_) symbols.push_back(id);
    else symbols.insert(symbols.end(), expansion_[static_cast<size_t>(id - alphabet_)].begin(), expansion_[static_cast<size_t>(id - alphabet_)].end());
  }
  return true;
}

}  // namespace engram
