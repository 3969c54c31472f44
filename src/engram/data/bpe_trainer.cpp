#include "engram/data/bpe_trainer.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <queue>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "engram/core/error.h"
#include "engram/core/text_file.h"
#include "engram/data/pretokenizer.h"

namespace engram {
namespace {

uint64_t pair_key(int left, int right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}
int left_of(uint64_t key) { return static_cast<int>(key >> 32); }
int right_of(uint64_t key) { return static_cast<int>(key & 0xFFFFFFFFu); }

// A distinct pre-token: its current symbols (token ids) and how often it occurs in the corpus.
struct Word {
  std::vector<int> symbols;
  int64_t count;
};

// Counts the pre-tokens of `text`; special tokens are cut out first and never counted.
std::unordered_map<std::string, int64_t> count_pretokens(
    std::string_view text, const std::vector<std::string>& special_tokens) {
  std::unordered_map<std::string, int64_t> counts;
  auto count_part = [&](std::string_view part) {
    gpt2_pretokenize(part, [&](std::string_view piece) { ++counts[std::string(piece)]; });
  };
  split_on_specials(text, special_tokens, count_part, [](size_t) {});
  return counts;
}

}  // namespace

BpeTrainResult train_bpe(std::string_view text, int vocab_size,
                         const std::vector<std::string>& special_tokens) {
  const int n_special = static_cast<int>(special_tokens.size());
  if (vocab_size < 256 + n_special) {
    throw Error("train_bpe: vocab_size " + std::to_string(vocab_size) + " is below 256 bytes + " +
                std::to_string(n_special) + " special tokens; raise vocab_size to at least " +
                std::to_string(256 + n_special));
  }
  for (int k = 0; k < n_special; ++k) {
    if (special_tokens[k].empty()) throw Error("train_bpe: special token " + std::to_string(k) +
                                               " is the empty string; remove it");
    for (int m = 0; m < k; ++m) {
      if (special_tokens[m] == special_tokens[k]) {
        throw Error("train_bpe: special token '" + special_tokens[k] + "' is listed twice");
      }
    }
  }

  BpeTrainResult result;
  result.special_tokens = special_tokens;
  result.vocab = special_tokens;
  for (int b = 0; b < 256; ++b) result.vocab.emplace_back(1, static_cast<char>(b));
  std::vector<std::string>& vocab = result.vocab;

  std::vector<Word> words;
  {
    auto counts = count_pretokens(text, special_tokens);
    if (counts.empty()) {
      throw Error("train_bpe: the corpus is empty (no text outside special tokens); train on a "
                  "non-empty text");
    }
    words.reserve(counts.size());
    for (const auto& [piece, count] : counts) {
      Word word{{}, count};
      for (unsigned char b : piece) word.symbols.push_back(n_special + b);
      words.push_back(std::move(word));
    }
  }

  // pair -> total count over the corpus, and pair -> the words that contain it. A word is listed
  // once per pair; entries go stale when a merge removes the pair from the word, and are skipped.
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<int>> words_with;
  for (int w = 0; w < static_cast<int>(words.size()); ++w) {
    const auto& s = words[w].symbols;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      uint64_t key = pair_key(s[i], s[i + 1]);
      pair_count[key] += words[w].count;
      auto& list = words_with[key];
      if (list.empty() || list.back() != w) list.push_back(w);
    }
  }

  // Max-heap of (count, pair) snapshots; a snapshot is valid while its count is the pair's
  // current count. A merged pair can never reappear (its tokens are never created again), so
  // leftover snapshots of it are always detected as stale.
  struct Entry {
    int64_t count;
    uint64_t key;
  };
  auto lower_priority = [&vocab](const Entry& a, const Entry& b) {
    if (a.count != b.count) return a.count < b.count;
    const std::string& a_left = vocab[left_of(a.key)];
    const std::string& b_left = vocab[left_of(b.key)];
    if (a_left != b_left) return a_left < b_left;
    return vocab[right_of(a.key)] < vocab[right_of(b.key)];
  };
  std::priority_queue<Entry, std::vector<Entry>, decltype(lower_priority)> heap(lower_priority);
  for (const auto& [key, count] : pair_count) heap.push({count, key});

  std::vector<std::pair<uint64_t, int64_t>> deltas;  // per word: pair -> change in count
  auto add_delta = [&deltas](uint64_t key, int64_t d) {
    for (auto& [k, total] : deltas) {
      if (k == key) {
        total += d;
        return;
      }
    }
    deltas.emplace_back(key, d);
  };
  std::unordered_set<uint64_t> changed;
  std::vector<int> merged_symbols;

  while (static_cast<int>(vocab.size()) < vocab_size) {
    // The most frequent pair, skipping stale snapshots.
    uint64_t best = 0;
    bool found = false;
    while (!heap.empty() && !found) {
      Entry top = heap.top();
      heap.pop();
      auto it = pair_count.find(top.key);
      found = it != pair_count.end() && it->second == top.count && top.count > 0;
      best = top.key;
    }
    if (!found) break;  // every pre-token is a single token: nothing left to merge

    const int left = left_of(best), right = right_of(best);
    const int new_id = static_cast<int>(vocab.size());
    result.merges.emplace_back(vocab[left], vocab[right]);
    vocab.push_back(vocab[left] + vocab[right]);

    std::vector<int> affected = std::move(words_with[best]);
    words_with.erase(best);
    pair_count.erase(best);
    changed.clear();
    for (int w : affected) {
      Word& word = words[w];
      const auto& s = word.symbols;
      // Merge non-overlapping occurrences left to right.
      merged_symbols.clear();
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == left && s[i + 1] == right) {
          merged_symbols.push_back(new_id);
          i += 2;
        } else {
          merged_symbols.push_back(s[i]);
          i += 1;
        }
      }
      if (merged_symbols.size() == s.size()) continue;  // stale index entry

      deltas.clear();
      for (size_t i = 0; i + 1 < s.size(); ++i) add_delta(pair_key(s[i], s[i + 1]), -word.count);
      for (size_t i = 0; i + 1 < merged_symbols.size(); ++i) {
        add_delta(pair_key(merged_symbols[i], merged_symbols[i + 1]), word.count);
      }
      for (const auto& [key, d] : deltas) {
        if (d == 0 || key == best) continue;
        int64_t& count = pair_count[key];
        count += d;
        if (count == 0) pair_count.erase(key);
        changed.insert(key);
        // Only pairs holding the new token can grow, and they are new to this word.
        if (d > 0) words_with[key].push_back(w);
      }
      word.symbols.swap(merged_symbols);
    }
    for (uint64_t key : changed) {
      auto it = pair_count.find(key);
      if (it != pair_count.end()) heap.push({it->second, key});
    }
  }
  return result;
}

std::string read_corpus(const std::string& path) {
  std::string text = read_text_file(path, "text file");
  if (text.empty()) throw Error("text file " + path + " is empty; give it a non-empty corpus");
  return text;
}

BpeTrainResult train_bpe_file(const std::string& path, int vocab_size,
                              const std::vector<std::string>& special_tokens) {
  std::string text = read_corpus(path);
  try {
    return train_bpe(text, vocab_size, special_tokens);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + " (corpus '" + path + "')");
  }
}

Tokenizer to_tokenizer(const BpeTrainResult& result) {
  return Tokenizer::from_merges(result.vocab, result.merges, result.special_tokens);
}

}  // namespace engram
