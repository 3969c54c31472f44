#include "engram/fast/fast_stats.h"

#include <algorithm>
#include <cmath>

#include "engram/core/error.h"
#include "engram/policy/chunk_dataset.h"

namespace engram {

nlohmann::json FastStats::to_json() const {
  return {{"gamma", gamma},         {"chunks", chunks},       {"vocab_size", vocab_size},       {"alphabet", alphabet},
          {"tokens_mean", tokens_mean}, {"tokens_max", tokens_max}, {"compression", compression}, {"rmse", rmse},
          {"rmse_rounding", rmse_rounding}, {"decode_failures", decode_failures}, {"clamped", clamped}};
}

FastStats measure_fast(const FastTokenizer& tok, const std::vector<double>& chunks) {
  const int64_t per_chunk = tok.horizon() * tok.dims();
  if (chunks.empty() || static_cast<int64_t>(chunks.size()) % per_chunk != 0)
    throw Error("FAST stats: expected whole chunks of " + std::to_string(tok.horizon()) + " × " + std::to_string(tok.dims()));
  FastStats s;
  s.gamma = tok.gamma();
  s.vocab_size = tok.vocab_size();
  s.alphabet = tok.alphabet();
  s.chunks = static_cast<int64_t>(chunks.size()) / per_chunk;
  double tokens = 0, se = 0;
  for (int64_t c = 0; c < s.chunks; ++c) {
    const double* chunk = chunks.data() + c * per_chunk;
    const auto ids = tok.encode(chunk, &s.clamped);
    tokens += static_cast<double>(ids.size());
    s.tokens_max = std::max<int64_t>(s.tokens_max, static_cast<int64_t>(ids.size()));
    const auto back = tok.decode(ids);
    s.decode_failures += !back.ok;
    for (int64_t i = 0; i < per_chunk; ++i) {
      const double e = tok.quantiles().normalise(back.chunk[i], i % tok.dims()) - tok.quantiles().normalise(chunk[i], i % tok.dims());
      se += e * e;
    }
  }
  s.tokens_mean = tokens / static_cast<double>(s.chunks);
  s.compression = static_cast<double>(per_chunk) / s.tokens_mean;
  s.rmse = std::sqrt(se / static_cast<double>(s.chunks * per_chunk));
  s.rmse_rounding = 1.0 / (std::sqrt(12.0) * tok.gamma());
  return s;
}

void read_action_chunks(const std::string& path, int64_t horizon, int64_t holdout_every, std::vector<double>& train,
                        std::vector<double>& held_out, int64_t& dims) {
  ChunkDataset t, v;
  load_chunk_dataset(path, horizon, holdout_every, t, v);
  dims = t.chunks.size(2);
  auto values = [](const torch::Tensor& x) {
    const auto d = x.to(torch::kDouble).contiguous();
    return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
  };
  train = values(t.chunks);
  held_out = v.chunks.numel() > 0 ? values(v.chunks) : std::vector<double>();
}

}  // namespace engram
