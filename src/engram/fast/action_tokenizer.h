// What a policy's backbone learns to emit for a chunk of actions: FAST's compressed frequency tokens
// (fast_tokenizer.h) or the naïve one-token-per-value bins of recipe R8 (bin_tokenizer.h). Both
// decode with a failure flag, never into a silent chunk of garbage, and both are saved as JSON
// files whose "format" says which they are.
//
// Chunks are plain row-major [H, D] arrays of raw (unnormalised) actions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/core/error.h"

namespace engram {

struct DecodedChunk {
  std::vector<double> chunk;  // [H, D] raw actions; on failure the quantile midpoints (KI spec §4.3's fallback)
  bool ok = false;
  std::string why;            // on failure: what was wrong with the tokens
};

class ActionTokenizer {
 public:
  virtual ~ActionTokenizer() = default;
  // Token ids in [0, vocab_size()); values beyond the fitted range are clamped and counted in `*clamped`.
  virtual std::vector<int64_t> encode(const double* chunk, int64_t* clamped = nullptr) const = 0;
  virtual DecodedChunk decode(const std::vector<int64_t>& ids) const = 0;
  virtual int64_t horizon() const = 0;
  virtual int64_t dims() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual nlohmann::json to_json() const = 0;
  void save(const std::string& path) const;  // atomically
};

// What fitting a tokenizer needs of its chunks ([N, H, D] row-major): H, D ≥ 1, whole chunks, every
// action finite. Errors begin with `who`.
void check_chunks_to_fit(const std::vector<double>& chunks, int64_t H, int64_t D, const std::string& who);

// The integer field `key` of a tokenizer file, in [lo, hi]; a problem is thrown as bad(what is wrong).
int64_t tokenizer_integer(const nlohmann::json& j, const char* key, int64_t lo, int64_t hi,
                          const std::function<Error(const std::string&)>& bad);

// Either kind, by the file's "format"; errors name `where` and the field.
std::shared_ptr<ActionTokenizer> action_tokenizer_from_json(const nlohmann::json& j, const std::string& where);
std::shared_ptr<ActionTokenizer> load_action_tokenizer(const std::string& path);

}  // namespace engram
