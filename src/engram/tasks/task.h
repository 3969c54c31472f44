// Synthetic sequence tasks: deterministic generators of training batches with a task score.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "engram/core/config.h"
#include "engram/data/batch.h"

namespace engram {

class SequenceModel;

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t sequence_length() const = 0;  // T of inputs and targets
  // `batch` sequences; a pure function of the generator's state, which it advances.
  // The batch's score_mask marks the positions the task is scored on.
  virtual Batch sample(int64_t batch, std::mt19937_64& rng) const = 0;
  // Validation batches; tasks with a fixed training set draw them from held-out data.
  virtual Batch sample_valid(int64_t batch, std::mt19937_64& rng) const { return sample(batch, rng); }
  // The task's own final metrics on its test data (e.g. RegBench's accuracy and TVD), as a JSON
  // object of numbers; empty for tasks whose validation accuracy already says it all.
  virtual nlohmann::json score(SequenceModel& model) const {
    (void)model;
    return nlohmann::json::object();
  }
  virtual nlohmann::json config() const = 0;
};

// Arg-max accuracy of logits [B, T, V] on the batch's score_mask (NaN when it has none).
double masked_accuracy(const torch::Tensor& logits, const Batch& batch);

// {"name": "induction", ...}; unknown names and keys are refused by name.
std::unique_ptr<Task> make_task(const nlohmann::json& config, const std::string& where = "task");

}  // namespace engram
