// RegBench as a training task (Memory Mosaics spec §6.3, §13.3): a fixed set of N training
// languages, one sequence each, drawn with replacement into batches; validation batches from the
// held-out validation languages; the final score (accuracy, L1 total variation) on the test
// languages.
//
// Sequences are cut to their first `length` tokens for training, validation and scoring alike, so
// no model is scored at positions it never trained on (a transformer with learned positions
// included). With the reference's max_chars the sequences hold 170–650 tokens.
#pragma once

#include "engram/tasks/regbench.h"
#include "engram/tasks/task.h"

namespace engram {

struct RegBenchTaskConfig {
  RegBenchConfig data;
  int64_t length = 256;  // tokens per sequence used (inputs are length − 1 of them)

  template <class F>
  void fields(F& f) {
    f.tag("name", "regbench");
    f.field("train_languages", data.train_languages, 1, 1 << 24);
    f.field("test_languages", data.test_languages, 2, 1 << 24);
    f.field("seed", data.seed, 0, INT64_MAX);
    f.field("max_chars", data.max_chars, 3, 1 << 24);
    f.field("length", length, 2, 1 << 20);
  }

  static RegBenchTaskConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

class RegBenchTask : public Task {
 public:
  explicit RegBenchTask(const RegBenchTaskConfig& config);
  std::string name() const override { return "regbench"; }
  int64_t vocab_size() const override { return kRegBenchVocab; }
  int64_t sequence_length() const override { return config_.length - 1; }
  Batch sample(int64_t batch, std::mt19937_64& rng) const override;
  Batch sample_valid(int64_t batch, std::mt19937_64& rng) const override;
  // {"test_accuracy", "test_tvd", "test_languages", "test_positions"} over the test languages.
  nlohmann::json score(SequenceModel& model) const override;
  nlohmann::json config() const override { return config_.to_json(); }

  // Accuracy and TVD of `model` on `sequences` (each cut to `length` tokens), in batches.
  RegBenchTally evaluate(SequenceModel& model, const std::vector<RegBenchSequence>& sequences) const;
  const RegBenchData& data() const { return data_; }

 private:
  Batch batch_of(const std::vector<RegBenchSequence>& from, int64_t batch, std::mt19937_64& rng) const;

  RegBenchTaskConfig config_;
  RegBenchData data_;
};

}  // namespace engram
