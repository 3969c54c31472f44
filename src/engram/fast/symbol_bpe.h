// Byte-pair encoding over integer symbols (KI spec §4.2): no pre-splitting, no bytes. Ids
// 0 … A−1 are the alphabet's symbols; id A + r is the token made by merge r. Lossless and
// deterministic, but its ids are not interchangeable with the Hugging Face FAST tokenizer's
// (which wraps a byte-level BPE over chr(symbol)).
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

namespace engram {

class SymbolBpe {
 public:
  using Pair = std::pair<int64_t, int64_t>;

  // Throws engram::Error unless every merge joins ids that exist before it.
  SymbolBpe(int64_t alphabet, std::vector<Pair> merges);

  // Merges the most frequent adjacent pair (ties: the smallest pair) until the vocabulary holds
  // `vocab_size` ids or no pair occurs `min_frequency` times. Identical sequences count by weight.
  static SymbolBpe fit(const std::vector<std::vector<int64_t>>& sequences, int64_t alphabet, int64_t vocab_size,
                       int64_t min_frequency = 2);

  // Applies merges lowest rank first. Symbols must lie in [0, alphabet).
  std::vector<int64_t> encode(const std::vector<int64_t>& symbols) const;
  // The symbols of `ids`; false (and `symbols` unspecified) when an id is outside the vocabulary.
  bool decode(const std::vector<int64_t>& ids, std::vector<int64_t>& symbols) const;

  int64_t alphabet() const { return alphabet_; }
  int64_t vocab_size() const { return alphabet_ + static_cast<int64_t>(merges_.size()); }
  const std::vector<Pair>& merges() const { return merges_; }

 private:
  int64_t alphabet_;
  std::vector<Pair> merges_;
  std::map<Pair, int64_t> rank_;                 // pair -> merge index
  std::vector<std::vector<int64_t>> expansion_;  // merged id - alphabet -> its symbols
};

}  // namespace engram
