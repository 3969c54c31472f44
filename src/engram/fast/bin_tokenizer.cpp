#include "engram/fast/bin_tokenizer.h"

#include <algorithm>
#include <cmath>

#include "engram/core/error.h"

namespace engram {

BinTokenizer::BinTokenizer(int64_t horizon, int64_t dims, int64_t bins, Quantiles quantiles)
    : horizon_(horizon), dims_(dims), bins_(bins), quantiles_(std::move(quantiles)) {}

BinTokenizer BinTokenizer::fit(const std::vector<double>& chunks, int64_t H, int64_t D, int64_t bins) {
  check_chunks_to_fit(chunks, H, D, "action bins");
  if (bins < 2) throw Error("action bins: need at least 2 bins");
  return BinTokenizer(H, D, bins, Quantiles::fit(chunks, D));
}

std::vector<int64_t> BinTokenizer::encode(const double* chunk, int64_t* clamped) const {
  std::vector<int64_t> ids(static_cast<size_t>(horizon_ * dims_));
  int64_t outside = 0;
  for (int64_t i = 0; i < horizon_ * dims_; ++i) {
    const double x = quantiles_.normalise(chunk[i], i % dims_);
    outside += x < -1.0 || x > 1.0;
    const auto bin = static_cast<int64_t>(std::floor((std::clamp(x, -1.0, 1.0) + 1.0) / 2.0 * static_cast<double>(bins_)));
    ids[static_cast<size_t>(i)] = std::min(bin, bins_ - 1);  // x = 1 belongs to the last bin
  }
  if (clamped) *clamped += outside;
  return ids;
}

DecodedChunk BinTokenizer::decode(const std::vector<int64_t>& ids) const {
  DecodedChunk out;
  out.chunk.resize(static_cast<size_t>(horizon_ * dims_));
  if (static_cast<int64_t>(ids.size()) != horizon_ * dims_) {
    out.why = std::to_string(ids.size()) + " tokens; a chunk has " + std::to_string(horizon_ * dims_);
  } else {
    for (int64_t id : ids)
      if (id < 0 || id >= bins_) {
        out.why = "token id " + std::to_string(id) + " is outside the bins 0…" + std::to_string(bins_ - 1);
        break;
      }
  }
  out.ok = out.why.empty();
  for (size_t i = 0; i < out.chunk.size(); ++i) {
    const double centre = out.ok ? -1.0 + (static_cast<double>(ids[i]) + 0.5) * 2.0 / static_cast<double>(bins_) : 0.0;
    out.chunk[i] = quantiles_.unnormalise(centre, static_cast<int64_t>(i) % dims_);
  }
  return out;
}

nlohmann::json BinTokenizer::to_json() const {
  return {{"format", kFormat}, {"horizon", horizon_}, {"action_dim", dims_}, {"bins", bins_}, {"q01", quantiles_.low}, {"q99", quantiles_.high}};
}

BinTokenizer BinTokenizer::from_json(const nlohmann::json& j, const std::string& where) {
  auto bad = [&](const std::string& what) { return Error(where + ": not an action-bin tokenizer (" + what + ")"); };
  if (!j.is_object()) throw bad("expected a JSON object");
  if (j.value("format", std::string()) != kFormat) throw bad("'format' must be \"" + std::string(kFormat) + "\"");
  auto integer = [&](const char* key, int64_t lo, int64_t hi) { return tokenizer_integer(j, key, lo, hi, bad); };
  const int64_t H = integer("horizon", 1, 4096), D = integer("action_dim", 1, 4096), bins = integer("bins", 2, 1 << 20);
  return BinTokenizer(H, D, bins, Quantiles::from_json(j, D, bad));
}

}  // namespace engram
