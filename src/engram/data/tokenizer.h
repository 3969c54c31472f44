// engram::Tokenizer — byte-level BPE, compatible with GPT-2.
//
// Loads OpenAI's GPT-2 files (encoder.json + vocab.bpe) or a vocabulary trained by train_bpe()
// (bpe_trainer.h), and saves/loads engram's own JSON tokenizer files. Text is split on special
// tokens (when allowed), then into GPT-2 pre-tokens (pretokenizer.h), then each pre-token's bytes
// are merged by rank exactly as GPT-2 / Hugging Face do. Any byte string encodes, invalid UTF-8
// included, and decode(encode(x)) == x always.
//
// Threads: every const method may be called from several threads at once. encode() memoises the
// BPE of each pre-token in a cache owned by the Tokenizer (shared by its copies); one caller at a
// time uses it and concurrent callers simply run uncached, so for parallel encoding give each
// thread its own Tokenizer (a copy made with Tokenizer::copy_with_own_cache()).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace engram {

class Tokenizer {
 public:
  // OpenAI's GPT-2 files: encoder.json (token -> id, 50,257 entries) and vocab.bpe (`#version`
  // line, then one merge `A B` per line in rank order). `<|endoftext|>` (50256) is the special
  // token. Throws engram::Error naming the file and line/key on anything malformed.
  static Tokenizer load_gpt2(const std::string& encoder_json_path,
                             const std::string& vocab_bpe_path);

  // A tokenizer from raw parts. vocab[id] = the token's raw bytes; it must hold all 256 single
  // bytes. merges = pairs of raw byte strings in priority order (first = merged first); each pair's
  // concatenation must be in vocab. special_tokens take the id of an equal vocab entry, or are
  // appended to the vocabulary when absent.
  static Tokenizer from_merges(std::vector<std::string> vocab,
                               const std::vector<std::pair<std::string, std::string>>& merges,
                               const std::vector<std::string>& special_tokens);

  // engram's tokenizer file: JSON {"format": "engram-bpe-tokenizer", "version": 1, "vocab": [...],
  // "merges": ["A B", ...], "special_ids": [...]}, tokens written with GPT-2's byte-to-unicode map
  // (as in vocab.bpe). save() writes a temporary file and renames it (core/atomic_file.h).
  static Tokenizer load(const std::string& path);
  void save(const std::string& path) const;
  // The same file as text (checkpoints carry it in their metadata); `where` names the source in errors.
  std::string to_json() const;
  static Tokenizer from_json(const std::string& text, const std::string& where);

  // Token ids of `text`. With allow_special, occurrences of special tokens become their ids
  // (leftmost first, the longest one where several start at the same byte); otherwise they are
  // encoded as ordinary text.
  std::vector<int> encode(std::string_view text, bool allow_special = true) const;

  // The bytes the ids stand for, concatenated. Throws engram::Error naming the first id outside
  // [0, vocab_size()).
  std::string decode(const std::vector<int>& ids) const;

  int vocab_size() const { return static_cast<int>(vocab_.size()); }
  int merge_count() const { return static_cast<int>(merges_.size()); }
  // Id of a special token by name, if this tokenizer has it.
  std::optional<int> special_id(std::string_view name) const;
  // Raw bytes of one token; throws engram::Error on an out-of-range id.
  const std::string& token_bytes(int id) const;

  // A copy with its own empty piece cache (a plain copy shares the cache with the original).
  Tokenizer copy_with_own_cache() const;

 private:
  struct PieceCache;
  struct Merge {
    int rank;
    int merged_id;
  };

  Tokenizer() = default;
  // The one place a tokenizer is assembled and validated; special tokens given by id.
  static Tokenizer build(std::vector<std::string> vocab,
                         const std::vector<std::pair<std::string, std::string>>& merges,
                         const std::vector<int>& special_ids);
  void encode_ordinary(std::string_view text, PieceCache* cache, std::vector<int>& out) const;
  void encode_piece(std::string_view piece, std::vector<int>& out) const;

  static uint64_t pair_key(int left, int right) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
           static_cast<uint32_t>(right);
  }

  std::vector<std::string> vocab_;                // id -> raw bytes
  std::vector<std::pair<int, int>> merges_;       // in rank order, as token ids
  std::unordered_map<uint64_t, Merge> merge_of_;  // pair_key(left, right) -> rank, result
  std::vector<std::string> special_names_;
  std::vector<int> special_ids_;                  // special_ids_[k] is the id of special_names_[k]
  int byte_id_[256] = {};                         // id of each single-byte token
  std::shared_ptr<PieceCache> cache_;
};

}  // namespace engram
