// FAST action tokens (Pertsch et al. 2025; KI spec §4): a chunk of H actions × D dimensions is
// quantile-normalised per dimension, DCT-II'd along time, scaled by γ and rounded, flattened low
// frequencies first with the dimensions interleaved, shifted to non-negative symbols and
// compressed by BPE. Decoding inverts each step and says when it cannot: a token sequence of the
// wrong length or with unknown ids is a failure (ok = false), never a silent chunk of garbage.
//
// Chunks here are plain row-major [H, D] arrays of raw (unnormalised) actions.
#pragma once

#include "engram/fast/action_tokenizer.h"
#include "engram/fast/dct.h"
#include "engram/fast/quantiles.h"
#include "engram/fast/symbol_bpe.h"

namespace engram {

class FastTokenizer : public ActionTokenizer {
 public:
  static constexpr const char* kFormat = "engram-fast-1";

  // Fits quantiles, the symbol range and the BPE on `chunks` ([N, H, D] row-major, raw actions).
  // Throws engram::Error when the rounded coefficients need more symbols than `vocab_size`.
  static FastTokenizer fit(const std::vector<double>& chunks, int64_t horizon, int64_t dims, double gamma, int64_t vocab_size);

  // The symbols before BPE, in [0, alphabet): coefficients beyond the fitted range are clamped to
  // it and counted in `*clamped`.
  std::vector<int64_t> symbols(const double* chunk, int64_t* clamped = nullptr) const;
  std::vector<int64_t> encode(const double* chunk, int64_t* clamped = nullptr) const override;
  DecodedChunk decode(const std::vector<int64_t>& ids) const override;

  int64_t horizon() const override { return horizon_; }
  int64_t dims() const override { return dims_; }
  double gamma() const { return gamma_; }
  int64_t vocab_size() const override { return bpe_.vocab_size(); }   // ids in use (≤ the requested size)
  int64_t alphabet() const { return bpe_.alphabet(); }
  int64_t min_token() const { return min_token_; }
  const Quantiles& quantiles() const { return quantiles_; }

  // The tokenizer file (format "engram-fast-1"): every field is checked on reading, and errors
  // name `where` and the field.
  nlohmann::json to_json() const override;
  static FastTokenizer from_json(const nlohmann::json& j, const std::string& where);
  static FastTokenizer load(const std::string& path);

 private:
  FastTokenizer(int64_t horizon, int64_t dims, double gamma, Quantiles quantiles, int64_t min_token, SymbolBpe bpe);

  int64_t horizon_, dims_;
  double gamma_;
  Quantiles quantiles_;
  int64_t min_token_;  // the smallest rounded coefficient seen in fitting: symbol = Q − min_token
  SymbolBpe bpe_;
  Dct dct_;
};

}  // namespace engram
