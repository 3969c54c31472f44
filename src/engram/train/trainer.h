// The training loop, for any SequenceModel and any source of batches.
//
// Each step: learning rate from the warm-up + cosine schedule, one batch (a pure function of the
// step, so resuming draws the same batches), cross-entropy, backward, global-norm clipping,
// AdamW. Every eval_interval steps: validation loss, a metrics line, an atomic checkpoint (and an
// early stop once the task accuracy reaches stop_accuracy, e.g. MQAR's 99 %). A
// non-finite loss or gradient stops the run with a clear message and leaves the last good
// checkpoint untouched.
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engram/data/shards.h"
#include "engram/seq/model.h"
#include "engram/train/adamw.h"
#include "engram/train/checkpoint.h"

namespace engram {

struct TrainConfig {
  int64_t steps = 1000;
  int64_t batch_size = 16;
  int64_t block_size = 128;
  double lr = 1e-3, min_lr = 1e-4;
  int64_t warmup = 100;
  double weight_decay = 0.1, beta1 = 0.9, beta2 = 0.95;
  double grad_clip = 1.0;        // max global gradient norm; 0 disables clipping
  int64_t eval_interval = 100;   // also the checkpoint interval
  double stop_accuracy = 0;      // stop early once the validation accuracy reaches this (0: never)
  int64_t eval_batches = 8;
  int64_t log_interval = 10;
  int64_t seed = 1337;
  std::string device = "cpu";

  static TrainConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// Deterministic batch streams: train(step) and valid(k) for k < eval_batches.
// A batch may carry a loss mask ([B, T] float, 1 = scored); an undefined mask scores every target.
struct BatchStream {
  std::function<Batch(int64_t)> train;
  std::function<Batch(int64_t)> valid;
};

struct TrainSummary {
  int64_t steps = 0;
  double train_loss = 0;  // mean over the last eval interval
  double val_loss = 0;    // at the end
  double val_accuracy = std::nan("");  // task accuracy at the end, for batches with a score_mask
  nlohmann::json task_score = nlohmann::json::object();  // the task's final metrics (Task::score), also in score.json
  double tokens_per_second = 0;
  double seconds = 0;
  std::string checkpoint;
  bool already_finished = false;  // resumed at train.steps: nothing was trained
};

// Mean cross-entropy of logits [B,T,V] against targets [B,T], over the mask when defined.
torch::Tensor sequence_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& mask);

class Trainer {
 public:
  // `run_dir` must exist; checkpoints go to run_dir/checkpoint.safetensors and metrics to
  // run_dir/metrics.jsonl. `meta` (experiment config, tokenizer) is stored in every checkpoint.
  Trainer(std::shared_ptr<SequenceModel> model, TrainConfig config, BatchStream data, std::string run_dir,
          CheckpointContents meta, bool show_progress = true);

  // Continues from run_dir's checkpoint: weights, optimizer moments, step and RNG state, so that
  // the rest of the run is bit-identical to an uninterrupted one.
  void resume();

  // Trains to config.steps, or stops early after step `stop_after` (a checkpoint is written there,
  // as if the run had been interrupted; resume() continues it). Ctrl-C (SIGINT) stops the same way
  // after the current step, then throws engram::Error saying how to resume.
  TrainSummary run(int64_t stop_after = -1);
  // Whether the run has reached config.steps (run() then trains nothing).
  bool finished() const { return step_ >= config_.steps; }
  // Validation loss, and task accuracy where the batches carry a score_mask (NaN otherwise), over
  // the fixed eval batches (dropout off, no gradients).
  struct Evaluation {
    double loss, accuracy;
  };
  Evaluation evaluate();

 private:
  void save(int64_t next_step);
  std::string kept_checkpoint_note() const;  // for the message of a stopped run

  std::shared_ptr<SequenceModel> model_;
  TrainConfig config_;
  BatchStream data_;
  std::string run_dir_;
  CheckpointContents meta_;
  bool show_progress_;
  AdamW optimizer_;
  int64_t step_ = 0;
  int64_t tokens_seen_ = 0;
  double seconds_ = 0;  // training wall time before this process (restored on resume)
  double window_loss_ = 0;  // sum of the train losses since the last evaluation (checkpointed)
  int64_t window_steps_ = 0;
};

}  // namespace engram
