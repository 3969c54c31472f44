// The word-level vocabulary of TableWorld-2D (KI spec §8.1): specials, every word the corpus and
// the instructions use, 32 state-bin tokens s0 … s31, and 256 ids reserved for FAST action codes
// that never occur in language pre-training (like PaliGemma's rarely used tokens). A word it does
// not know is an error naming the word, never a silent <unk>.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace engram::tableworld {

class Vocabulary {
 public:
  static constexpr int kStateBins = 32, kFastIds = 256;

  Vocabulary();  // the fixed TableWorld vocabulary

  // Space-separated words → ids; throws engram::Error naming the first unknown word and `what`.
  std::vector<int64_t> encode(const std::string& text, const std::string& what = "text") const;
  std::string decode(const std::vector<int64_t>& ids) const;
  int64_t id(const std::string& word) const;  // throws for an unknown word
  int64_t state_bin(int bin) const;           // s0 … s31
  int64_t fast(int code) const;               // FAST id 0 … 255 → its token id
  int64_t size() const { return static_cast<int64_t>(words_.size()); }
  int64_t pad() const { return 0; }
  int64_t bos() const { return 1; }
  int64_t eos() const { return 2; }

 private:
  std::vector<std::string> words_;
  std::map<std::string, int64_t> ids_;
  int64_t first_state_ = 0, first_fast_ = 0;
};

}  // namespace engram::tableworld
