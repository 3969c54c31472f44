// Multi-query associative recall (Zoology; ATLAS spec §12.5): kv key–value pairs written at the
// start (keys from the lower half of the vocabulary, values from the upper half), then each key
// asked again at a query slot drawn with a power law favouring short gaps; the model must answer
// each query with its value. Scored on the query positions only.
#pragma once

#include "engram/tasks/task.h"

namespace engram {

struct MqarConfig {
  int64_t length = 64;     // L
  int64_t vocab = 256;     // V (even)
  int64_t kv_pairs = 8;    // kv
  double power_a = 0.01;   // p(gap) ∝ gap^(a − 1)
  template <class F>
  void fields(F& f) {
    f.tag("name", "mqar");
    f.field("length", length, 8, 1 << 20);
    f.field("vocab", vocab, 8, 1 << 20);
    f.field("kv_pairs", kv_pairs, 1, 1 << 16);
    f.field("power_a", power_a, 1e-6, 1.0);
  }

  static MqarConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

class MqarTask : public Task {
 public:
  explicit MqarTask(const MqarConfig& config);
  std::string name() const override { return "mqar"; }
  int64_t vocab_size() const override { return config_.vocab; }
  int64_t sequence_length() const override { return config_.length; }
  Batch sample(int64_t batch, std::mt19937_64& rng) const override;
  nlohmann::json config() const override { return config_.to_json(); }

 private:
  MqarConfig config_;
  std::vector<double> gap_weights_;
};

}  // namespace engram
