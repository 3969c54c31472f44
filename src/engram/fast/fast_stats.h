// What FAST does to a set of action chunks (KI spec §4.5, §8.2): tokens per chunk, compression
// against one token per value, the round-trip error against rounding's 1/(√12·γ), decode failures
// and clamped coefficients. `engram fast stats` prints one row per γ.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/fast/fast_tokenizer.h"

namespace engram {

struct FastStats {
  double gamma = 0;
  int64_t chunks = 0, vocab_size = 0, alphabet = 0;
  double tokens_mean = 0;
  int64_t tokens_max = 0;
  double compression = 0;      // H·D values / mean tokens
  double rmse = 0;             // in normalised units
  double rmse_rounding = 0;    // 1/(√12·γ): the error if rounding errors were uniform
  int64_t decode_failures = 0, clamped = 0;
  nlohmann::json to_json() const;
};

// `chunks` is [N, H, D] row-major, raw actions.
FastStats measure_fast(const FastTokenizer& tokenizer, const std::vector<double>& chunks);

// The action chunks of a demonstration file ([N, H, D] row-major), split as `policy train` splits
// episodes (every `holdout_every`-th held out); `dims` receives D.
void read_action_chunks(const std::string& path, int64_t horizon, int64_t holdout_every, std::vector<double>& train,
                        std::vector<double>& held_out, int64_t& dims);

}  // namespace engram
