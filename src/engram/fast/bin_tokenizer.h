// The naïve action tokens of KI spec §8.4's recipe R8 (RT-2 and OpenVLA tokenise actions this way):
// every value of a chunk, quantile-normalised per dimension to [−1, 1] and clamped there, falls
// into one of `bins` equal bins, one token per value, time-major — H·D tokens a chunk, 48 for
// TableWorld's 16 × 3 against FAST's ≈ 15. Decoding maps each token to its bin's centre; a sequence
// of the wrong length or with an id outside the bins is a failure, as with FAST.
#pragma once

#include "engram/fast/action_tokenizer.h"
#include "engram/fast/quantiles.h"

namespace engram {

class BinTokenizer : public ActionTokenizer {
 public:
  static constexpr const char* kFormat = "engram-bins-1";

  // Fits the quantiles on `chunks` ([N, H, D] row-major, raw actions).
  static BinTokenizer fit(const std::vector<double>& chunks, int64_t horizon, int64_t dims, int64_t bins);

  std::vector<int64_t> encode(const double* chunk, int64_t* clamped = nullptr) const override;
  DecodedChunk decode(const std::vector<int64_t>& ids) const override;
  int64_t horizon() const override { return horizon_; }
  int64_t dims() const override { return dims_; }
  int64_t vocab_size() const override { return bins_; }
  nlohmann::json to_json() const override;
  static BinTokenizer from_json(const nlohmann::json& j, const std::string& where);

 private:
  BinTokenizer(int64_t horizon, int64_t dims, int64_t bins, Quantiles quantiles);

  int64_t horizon_, dims_, bins_;
  Quantiles quantiles_;
};

}  // namespace engram
