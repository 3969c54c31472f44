#include "engram/data/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <queue>
#include <sstream>
#include <tuple>

#include "engram/core/atomic_file.h"
#include "engram/core/error.h"
#include "engram/core/json.h"
#include "engram/core/text_file.h"
#include "engram/data/pretokenizer.h"

namespace engram {
namespace {

using json = nlohmann::json;

// Pieces longer than this are rare (long whitespace or digit-free runs) and would bloat the cache.
constexpr size_t kMaxCachedPieceBytes = 128;
// Natural text has a few hundred thousand distinct pre-tokens per GB; past this the cache is
// dropped and refilled rather than grown without bound.
constexpr size_t kMaxCacheEntries = size_t{1} << 20;
constexpr const char* kFileFormat = "engram-bpe-tokenizer";

// Splits a merge line "A B" (tokens in byte-to-unicode form never contain a space).
std::pair<std::string, std::string> parse_merge_line(const std::string& line,
                                                     const std::string& where) {
  size_t space = line.find(' ');
  if (space == std::string::npos || space == 0 || space + 1 == line.size() ||
      line.find(' ', space + 1) != std::string::npos) {
    throw Error(where + ": merge '" + line + "' is not two tokens separated by one space");
  }
  return {gpt2_unicode_to_bytes(line.substr(0, space), where),
          gpt2_unicode_to_bytes(line.substr(space + 1), where)};
}

}  // namespace

struct Tokenizer::PieceCache {
  std::mutex mutex;  // held for a whole encode() call; see the header's note on threads
  std::unordered_map<std::string, std::vector<int>> pieces;
};

// ---- construction ----------------------------------------------------------------------------

Tokenizer Tokenizer::build(std::vector<std::string> vocab,
                           const std::vector<std::pair<std::string, std::string>>& merges,
                           const std::vector<int>& special_ids) {
  Tokenizer t;
  t.vocab_ = std::move(vocab);
  const int n = t.vocab_size();
  std::vector<bool> is_special(n, false);
  for (int id : special_ids) {
    if (id < 0 || id >= n) throw Error("Tokenizer: special token id " + std::to_string(id) +
                                       " is outside the vocabulary [0, " + std::to_string(n) + ")");
    if (t.vocab_[id].empty()) throw Error("Tokenizer: special token " + std::to_string(id) +
                                          " is empty; special tokens need at least one byte");
    is_special[id] = true;
    t.special_names_.push_back(t.vocab_[id]);
    t.special_ids_.push_back(id);
  }

  // Merge results and byte tokens are looked up among the ordinary tokens only, so a special
  // token whose text happens to equal a merge result never comes out of BPE.
  std::unordered_map<std::string, int> id_of;
  id_of.reserve(n);
  for (int id = 0; id < n; ++id) {
    if (!is_special[id]) id_of.emplace(t.vocab_[id], id);  // the first of duplicates wins
  }
  for (int b = 0; b < 256; ++b) {
    auto it = id_of.find(std::string(1, static_cast<char>(b)));
    if (it == id_of.end()) {
      throw Error("Tokenizer: the vocabulary has no token for byte " + std::to_string(b) +
                  "; a byte-level BPE vocabulary must hold all 256 single bytes");
    }
    t.byte_id_[b] = it->second;
  }

  auto lookup = [&](const std::string& bytes, size_t rank, const char* role) {
    auto it = id_of.find(bytes);
    if (it == id_of.end()) {
      throw Error("Tokenizer: merge #" + std::to_string(rank) + " ('" +
                  bytes_to_gpt2_unicode(merges[rank].first) + "' + '" +
                  bytes_to_gpt2_unicode(merges[rank].second) + "'): its " + role + " '" +
                  bytes_to_gpt2_unicode(bytes) +
                  "' is not in the vocabulary; the vocabulary and merges do not belong together");
    }
    return it->second;
  };
  t.merges_.reserve(merges.size());
  t.merge_of_.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    int left = lookup(merges[r].first, r, "left token");
    int right = lookup(merges[r].second, r, "right token");
    int merged = lookup(merges[r].first + merges[r].second, r, "result");
    t.merges_.emplace_back(left, right);
    t.merge_of_.emplace(pair_key(left, right), Merge{static_cast<int>(r), merged});  // first wins
  }
  t.cache_ = std::make_shared<PieceCache>();
  return t;
}

Tokenizer Tokenizer::from_merges(std::vector<std::string> vocab,
                                 const std::vector<std::pair<std::string, std::string>>& merges,
                                 const std::vector<std::string>& special_tokens) {
  std::vector<int> special_ids;
  for (const std::string& name : special_tokens) {
    if (name.empty()) throw Error("Tokenizer: a special token is the empty string; remove it");
    int id = -1;
    for (size_t i = 0; i < vocab.size() && id < 0; ++i) {
      if (vocab[i] == name) id = static_cast<int>(i);
    }
    if (id < 0) {
      id = static_cast<int>(vocab.size());
      vocab.push_back(name);
    }
    special_ids.push_back(id);
  }
  return build(std::move(vocab), merges, special_ids);
}

Tokenizer Tokenizer::load_gpt2(const std::string& encoder_json_path,
                               const std::string& vocab_bpe_path) {
  json encoder = read_json_file(encoder_json_path, "GPT-2 encoder.json");
  if (!encoder.is_object() || encoder.empty()) {
    throw Error("GPT-2 encoder.json '" + encoder_json_path +
                "' is not a JSON object of token -> id; pass OpenAI's encoder.json");
  }
  std::vector<std::string> vocab(encoder.size());
  std::vector<bool> seen(encoder.size(), false);
  for (const auto& [token, value] : encoder.items()) {
    const std::string where = "GPT-2 encoder.json '" + encoder_json_path + "', key '" + token + "'";
    if (!value.is_number_integer()) throw Error(where + ": the id is not an integer");
    const long long id = value.get<long long>();
    if (id < 0 || id >= static_cast<long long>(vocab.size()) || seen[id]) {
      throw Error(where + ": id " + std::to_string(id) + " is a duplicate or outside [0, " +
                  std::to_string(vocab.size()) + "); ids must be 0..N-1, each once");
    }
    seen[id] = true;
    vocab[id] = gpt2_unicode_to_bytes(token, where);
  }

  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream lines(read_text_file(vocab_bpe_path, "GPT-2 vocab.bpe"));
  std::string line;
  for (int line_no = 1; std::getline(lines, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Only the first line is a header: some real merges (e.g. "# #") also start with '#'.
    if (line_no == 1 && line.rfind("#version", 0) == 0) continue;
    if (line.empty()) continue;
    merges.push_back(parse_merge_line(
        line, "GPT-2 vocab.bpe '" + vocab_bpe_path + "', line " + std::to_string(line_no)));
  }
  return from_merges(std::move(vocab), merges, {"<|endoftext|>"});
}

// ---- engram's own file format ----------------------------------------------------------------

std::string Tokenizer::to_json() const {
  json j;
  j["format"] = kFileFormat;
  j["version"] = 1;
  json vocab = json::array();
  for (const std::string& token : vocab_) vocab.push_back(bytes_to_gpt2_unicode(token));
  json merges = json::array();
  for (const auto& [left, right] : merges_) {
    merges.push_back(bytes_to_gpt2_unicode(vocab_[left]) + " " +
                     bytes_to_gpt2_unicode(vocab_[right]));
  }
  json special_ids = json::array();
  for (int id : special_ids_) special_ids.push_back(id);
  j["vocab"] = std::move(vocab);
  j["merges"] = std::move(merges);
  j["special_ids"] = std::move(special_ids);
  return j.dump(1) + "\n";
}

void Tokenizer::save(const std::string& path) const {
  // A crash mid-write leaves the old file (or none), never half a tokenizer.
  write_text_atomically(path, to_json());
}

Tokenizer Tokenizer::load(const std::string& path) {
  return from_json(read_text_file(path, "tokenizer file"), "tokenizer file " + path);
}

Tokenizer Tokenizer::from_json(const std::string& text, const std::string& where) {
  json j = parse_json(text, where);
  if (!j.is_object() || j.value("format", "") != kFileFormat) {
    throw Error(where + " is not an engram tokenizer (expected \"format\": \"" + kFileFormat +
                "\"); for OpenAI's files use Tokenizer::load_gpt2");
  }
  if (j.value("version", 0) != 1) {
    throw Error(where + ": unsupported version " + j.value("version", json()).dump() +
                "; this build reads version 1");
  }
  for (const char* key : {"vocab", "merges", "special_ids"}) {
    if (!j.contains(key) || !j[key].is_array()) {
      throw Error(where + ": \"" + key + "\" is missing or not an array");
    }
  }
  try {
    std::vector<std::string> vocab;
    for (const json& token : j["vocab"]) {
      vocab.push_back(gpt2_unicode_to_bytes(token.get<std::string>(), where + ", vocab"));
    }
    std::vector<std::pair<std::string, std::string>> merges;
    for (const json& merge : j["merges"]) {
      merges.push_back(parse_merge_line(merge.get<std::string>(), where));
    }
    std::vector<int> special_ids = j["special_ids"].get<std::vector<int>>();
    return build(std::move(vocab), merges, special_ids);
  } catch (const json::exception& e) {
    throw Error(where + ": wrong value type (" + e.what() + ")");
  }
}

// ---- encoding and decoding -------------------------------------------------------------------

// BPE of one pre-token: repeatedly merge the adjacent pair with the lowest rank, leftmost first,
// as GPT-2 and Hugging Face do. A heap of candidate pairs over a linked list keeps long pieces
// (a megabyte of spaces) O(n log n) instead of quadratic.
void Tokenizer::encode_piece(std::string_view piece, std::vector<int>& out) const {
  const int n = static_cast<int>(piece.size());
  if (n == 1) {
    out.push_back(byte_id_[static_cast<unsigned char>(piece[0])]);
    return;
  }
  std::vector<int> id(n), prev(n), next(n);  // node i starts at byte i; id -1 = absorbed
  for (int i = 0; i < n; ++i) {
    id[i] = byte_id_[static_cast<unsigned char>(piece[i])];
    prev[i] = i - 1;
    next[i] = i + 1;
  }
  // (rank, left node, left id, right id). A candidate is stale once either node has changed; a
  // node's id only ever grows into a longer token, so comparing ids detects that exactly.
  using Candidate = std::tuple<int, int, int, int>;
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
  auto push = [&](int i) {
    if (i < 0 || next[i] >= n) return;
    auto it = merge_of_.find(pair_key(id[i], id[next[i]]));
    if (it != merge_of_.end()) heap.emplace(it->second.rank, i, id[i], id[next[i]]);
  };
  for (int i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    auto [rank, i, left, right] = heap.top();
    heap.pop();
    if (id[i] != left || next[i] >= n || id[next[i]] != right) continue;
    const int j = next[i];
    id[i] = merge_of_.at(pair_key(left, right)).merged_id;
    id[j] = -1;
    next[i] = next[j];
    if (next[j] < n) prev[next[j]] = i;
    push(prev[i]);
    push(i);
  }
  for (int i = 0; i < n; i = next[i]) out.push_back(id[i]);
}

void Tokenizer::encode_ordinary(std::string_view text, PieceCache* cache,
                                std::vector<int>& out) const {
  gpt2_pretokenize(text, [&](std::string_view piece) {
    if (cache == nullptr || piece.size() == 1 || piece.size() > kMaxCachedPieceBytes) {
      encode_piece(piece, out);
      return;
    }
    std::string key(piece);
    auto it = cache->pieces.find(key);
    if (it != cache->pieces.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
    const size_t first = out.size();
    encode_piece(piece, out);
    if (cache->pieces.size() >= kMaxCacheEntries) cache->pieces.clear();
    cache->pieces.emplace(std::move(key), std::vector<int>(out.begin() + first, out.end()));
  });
}

std::vector<int> Tokenizer::encode(std::string_view text, bool allow_special) const {
  std::vector<int> ids;
  ids.reserve(text.size() / 4 + 1);
  std::unique_lock<std::mutex> lock;
  if (cache_) lock = std::unique_lock<std::mutex>(cache_->mutex, std::try_to_lock);
  PieceCache* cache = lock.owns_lock() ? cache_.get() : nullptr;

  if (!allow_special || special_names_.empty()) {
    encode_ordinary(text, cache, ids);
    return ids;
  }
  split_on_specials(
      text, special_names_, [&](std::string_view part) { encode_ordinary(part, cache, ids); },
      [&](size_t k) { ids.push_back(special_ids_[k]); });
  return ids;
}

std::string Tokenizer::decode(const std::vector<int>& ids) const {
  std::string text;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= vocab_size()) {
      throw Error("Tokenizer::decode: token id " + std::to_string(ids[i]) + " at position " +
                  std::to_string(i) + " is outside the vocabulary [0, " +
                  std::to_string(vocab_size()) +
                  "); decode ids made by this tokenizer (or a model with this vocab size)");
    }
    text += vocab_[ids[i]];
  }
  return text;
}

std::optional<int> Tokenizer::special_id(std::string_view name) const {
  for (size_t k = 0; k < special_names_.size(); ++k) {
    if (special_names_[k] == name) return special_ids_[k];
  }
  return std::nullopt;
}

const std::string& Tokenizer::token_bytes(int id) const {
  if (id < 0 || id >= vocab_size()) {
    throw Error("Tokenizer::token_bytes: token id " + std::to_string(id) +
                " is outside the vocabulary [0, " + std::to_string(vocab_size()) + ")");
  }
  return vocab_[id];
}

Tokenizer Tokenizer::copy_with_own_cache() const {
  Tokenizer copy = *this;
  copy.cache_ = std::make_shared<PieceCache>();
  return copy;
}

}  // namespace engram
