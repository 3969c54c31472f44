// Byte-level BPE training, with the semantics of Stanford CS336 assignment 1 (train_bpe):
//
//  * vocabulary ids: the special tokens first (0..S-1), then the 256 single bytes, then one new
//    token per merge in the order the merges were made;
//  * the text is split on the special tokens (which never take part in merges), each part is
//    split into GPT-2 pre-tokens (pretokenizer.h), and pairs are counted within pre-tokens only;
//  * each step merges the most frequent pair, ties going to the lexicographically greater pair
//    (bytes_a, bytes_b), compared as byte strings, tuple-wise.
//
// Pair counts are updated incrementally (a pair -> words index and a max-heap with lazy
// invalidation), so a step costs time in the words it touches, not in the corpus size.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engram/data/tokenizer.h"

namespace engram {

struct BpeTrainResult {
  std::vector<std::string> vocab;  // id -> raw bytes: specials, 256 bytes, then merge results
  std::vector<std::pair<std::string, std::string>> merges;  // raw bytes, in the order made
  std::vector<std::string> special_tokens;
};

// Trains on `text` until the vocabulary has vocab_size tokens (or no pair is left to merge).
// Throws engram::Error when vocab_size < 256 + special_tokens.size(), when a special token is
// empty or repeated, or when the text holds nothing outside special tokens.
BpeTrainResult train_bpe(std::string_view text, int vocab_size,
                         const std::vector<std::string>& special_tokens);

// Reads a training text; throws engram::Error naming the path when it is missing, a directory,
// unreadable or empty.
std::string read_corpus(const std::string& path);

// train_bpe on the contents of a text file (read_corpus).
BpeTrainResult train_bpe_file(const std::string& path, int vocab_size,
                              const std::vector<std::string>& special_tokens);

// A Tokenizer that encodes with the trained vocabulary and merges.
Tokenizer to_tokenizer(const BpeTrainResult& result);

}  // namespace engram
