// Synthetic single-needle-in-a-haystack (ATLAS spec §16.4 E4, a token-level RULER S-NIAH): a
// needle NEEDLE k₁ k₂ v₁…v_m hidden at one of 20 evenly spaced depths of a haystack, and the
// sequence ends QUERY k₁ k₂ ANSWER; the model must then produce v₁…v_m. Trained on mixed lengths,
// scored (exact match of all m value tokens, greedy) at lengths far beyond them.
//
// Haystacks: "pk" a fixed 8-token pattern repeated (passkey-like); "n" a first-order Markov chain
// over the 64 filler symbols, fixed per task seed (text-like, it interferes with the memory); "w" the
// same haystack with an 8-token value over the key alphabet and 1–3 distractor needles with other keys.
#pragma once

#include <random>
#include <vector>

#include "engram/tasks/task.h"

namespace engram {

enum class Haystack { kPattern, kMarkov, kDistractors };  // "pk" | "n" | "w", as described above
const Names<Haystack>& names_of(Haystack);

struct NiahConfig {
  Haystack haystack = Haystack::kMarkov;
  int64_t min_length = 64;     // training lengths, drawn per batch from [min_length, max_length]
  int64_t max_length = 256;
  std::vector<int64_t> eval_lengths = {256, 1024, 4096};
  int64_t eval_samples = 200;  // per evaluation length
  int64_t seed = 0;            // fixes the haystack pattern / Markov chain

  template <class F>
  void fields(F& f) {
    f.tag("name", "niah");
    f.field("haystack", haystack);
    f.field("min_length", min_length, 1, 1 << 20);
    f.field("max_length", max_length, min_length, 1 << 20);
    f.field("eval_lengths", eval_lengths, 1, 1 << 20);
    f.field("eval_samples", eval_samples, 1, 1 << 20);
    f.field("seed", seed, 0, INT64_MAX);
  }

  static NiahConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

class NiahTask : public Task {
 public:
  explicit NiahTask(const NiahConfig& config);
  std::string name() const override { return "niah"; }
  int64_t vocab_size() const override;
  int64_t sequence_length() const override { return config_.max_length; }
  Batch sample(int64_t batch, std::mt19937_64& rng) const override;
  // Exact match and per-token accuracy at every evaluation length.
  nlohmann::json score(SequenceModel& model) const override;
  nlohmann::json config() const override { return config_.to_json(); }

  // `batch` sequences of exactly `length` input tokens.
  Batch sample_length(int64_t batch, int64_t length, std::mt19937_64& rng) const;
  int64_t value_length() const;

 private:
  void fill_haystack(int64_t* out, int64_t n, std::mt19937_64& rng) const;

  NiahConfig config_;
  std::vector<int64_t> pattern_;                    // pk
  std::vector<std::discrete_distribution<size_t>::param_type> transitions_;  // n, w: one row per filler symbol
};

}  // namespace engram
