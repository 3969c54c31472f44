#include "engram/tasks/mqar.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include <torch/torch.h>

#include "engram/core/config.h"
#include "engram/core/error.h"

namespace engram {

MqarConfig MqarConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  MqarConfig m;
  m.fields(c);
  c.finish();
  if (m.vocab % 2) throw Error("config " + c.path("vocab") + " must be even (keys below half, values above)");
  if (m.kv_pairs > m.vocab / 2) throw Error("config " + c.path("kv_pairs") + " exceeds the vocab/2 distinct keys");
  if (4 * m.kv_pairs > m.length)
    throw Error("config " + c.path("kv_pairs") + " = " + std::to_string(m.kv_pairs) + ": the pairs and their queries need length ≥ 4·kv_pairs");
  return m;
}

nlohmann::json MqarConfig::to_json() const { return write_config(*this); }

MqarTask::MqarTask(const MqarConfig& config) : config_(config) {
  const int64_t slots = (config.length - 2 * config.kv_pairs) / 2;
  for (int64_t g = 1; g <= slots; ++g) gap_weights_.push_back(std::pow(static_cast<double>(g), config.power_a - 1));
}

Batch MqarTask::sample(int64_t batch, std::mt19937_64& rng) const {
  const int64_t L = config_.length, kv = config_.kv_pairs, half = config_.vocab / 2;
  auto inputs = torch::empty({batch, L}, torch::kLong);
  auto targets = torch::zeros({batch, L}, torch::kLong);
  auto score = torch::zeros({batch, L}, torch::kBool);
  auto* in = inputs.data_ptr<int64_t>();
  auto* out = targets.data_ptr<int64_t>();
  auto* sc = score.data_ptr<bool>();
  std::uniform_int_distribution<int64_t> any(0, config_.vocab - 1);
  std::vector<int64_t> keys(static_cast<size_t>(half)), values(static_cast<size_t>(half));
  std::iota(keys.begin(), keys.end(), 0);
  std::iota(values.begin(), values.end(), half);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t* row = in + b * L;
    for (int64_t i = 0; i < L; ++i) row[i] = any(rng);
    // kv distinct keys and values: partial Fisher–Yates
    for (int64_t i = 0; i < kv; ++i) {
      std::swap(keys[static_cast<size_t>(i)], keys[static_cast<size_t>(std::uniform_int_distribution<int64_t>(i, half - 1)(rng))]);
      std::swap(values[static_cast<size_t>(i)], values[static_cast<size_t>(std::uniform_int_distribution<int64_t>(i, half - 1)(rng))]);
      row[2 * i] = keys[static_cast<size_t>(i)];
      row[2 * i + 1] = values[static_cast<size_t>(i)];
    }
    // kv distinct query slots, drawn without replacement with the power-law weights
    std::vector<double> w = gap_weights_;
    for (int64_t i = 0; i < kv; ++i) {
      std::discrete_distribution<size_t> pick(w.begin(), w.end());
      const size_t slot = pick(rng);
      w[slot] = 0;
      const int64_t pos = 2 * kv + 2 * static_cast<int64_t>(slot);
      row[pos] = keys[static_cast<size_t>(i)];
      out[b * L + pos] = values[static_cast<size_t>(i)];  // the answer is the token after the query key
      sc[b * L + pos] = true;
    }
  }
  return {inputs, targets, score.to(torch::kFloat32), score};
}

}  // namespace engram
