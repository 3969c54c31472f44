// In-context recall with one copy (Memory Mosaics spec §13.1): a sequence of uniform random tokens
// in which a random segment reappears at a random later position. The copy's tokens after its
// first are predictable only by finding the earlier occurrence: an induction head.
// Random offsets matter: with a fixed offset, absolute positions alone solve the task.
#pragma once

#include "engram/tasks/task.h"

namespace engram {

struct InductionConfig {
  int64_t length = 64;    // T
  int64_t vocab = 64;     // V
  int64_t min_copy = 10;  // segment length s ∈ [min_copy, max_copy]
  int64_t max_copy = 20;
  template <class F>
  void fields(F& f) {
    f.tag("name", "induction");
    f.field("length", length, 4, 1 << 20);
    f.field("vocab", vocab, 2, 1 << 20);
    f.field("min_copy", min_copy, 2, 1 << 20);
    f.field("max_copy", max_copy, 2, 1 << 20);
  }

  static InductionConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

class InductionTask : public Task {
 public:
  explicit InductionTask(const InductionConfig& config) : config_(config) {}
  std::string name() const override { return "induction"; }
  int64_t vocab_size() const override { return config_.vocab; }
  int64_t sequence_length() const override { return config_.length; }
  Batch sample(int64_t batch, std::mt19937_64& rng) const override;
  nlohmann::json config() const override { return config_.to_json(); }

 private:
  InductionConfig config_;
};

}  // namespace engram
