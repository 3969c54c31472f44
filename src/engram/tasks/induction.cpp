#include "engram/tasks/induction.h"

#include <torch/torch.h>

#include "engram/core/config.h"
#include "engram/core/error.h"

namespace engram {

InductionConfig InductionConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  InductionConfig t;
  t.fields(c);
  c.finish();
  if (t.min_copy > t.max_copy) throw Error("config " + c.path("min_copy") + " exceeds " + c.path("max_copy"));
  // Both copies and one token of target past the end must fit: the sequence holds T+1 tokens.
  if (2 * t.max_copy > t.length + 1)
    throw Error("config " + c.path("max_copy") + " = " + std::to_string(t.max_copy) + ": two copies do not fit in " +
                c.path("length") + " = " + std::to_string(t.length));
  return t;
}

nlohmann::json InductionConfig::to_json() const { return write_config(*this); }

Batch InductionTask::sample(int64_t batch, std::mt19937_64& rng) const {
  const int64_t T = config_.length, n = T + 1;  // n tokens give T inputs and T targets
  auto seq = torch::empty({batch, n}, torch::kLong);
  auto score = torch::zeros({batch, T}, torch::kBool);
  auto* s = seq.data_ptr<int64_t>();
  auto* m = score.data_ptr<bool>();
  std::uniform_int_distribution<int64_t> token(0, config_.vocab - 1);
  std::uniform_int_distribution<int64_t> length(config_.min_copy, config_.max_copy);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t* row = s + b * n;
    for (int64_t i = 0; i < n; ++i) row[i] = token(rng);
    const int64_t len = length(rng);
    const int64_t first = std::uniform_int_distribution<int64_t>(0, n - 2 * len)(rng);
    const int64_t second = std::uniform_int_distribution<int64_t>(first + len, n - len)(rng);
    for (int64_t i = 0; i < len; ++i) row[second + i] = row[first + i];
    // Token second+i (i ≥ 1) is the target of input position second+i−1.
    for (int64_t i = 1; i < len; ++i) m[b * T + second + i - 1] = true;
  }
  return {seq.narrow(1, 0, T).contiguous(), seq.narrow(1, 1, T).contiguous(), {}, score};
}

}  // namespace engram
