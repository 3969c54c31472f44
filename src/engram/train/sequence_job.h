// Training a SequenceModel with the one loop (train/trainer.h): next-token cross-entropy on
// deterministic batches, validation loss and task accuracy on fixed held-out batches.
#pragma once

#include <cmath>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engram/data/batch.h"
#include "engram/seq/model.h"
#include "engram/train/checkpoint.h"
#include "engram/train/trainer.h"

namespace engram {

// The "train" section of a sequence-model experiment.
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

  template <class F>
  void fields(F& f) {
    f.field("steps", steps, 1, int64_t{1} << 40);
    f.field("batch_size", batch_size, 1, 1 << 20);
    f.field("block_size", block_size, 1, 1 << 24);
    f.field("lr", lr, 0.0, 1e3);
    f.field("min_lr", min_lr, 0.0, 1e3);
    f.field("warmup", warmup, 0, int64_t{1} << 40);
    f.field("weight_decay", weight_decay, 0.0, 10.0);
    f.field("beta1", beta1, 0.0, 0.999999);
    f.field("beta2", beta2, 0.0, 0.999999);
    f.field("grad_clip", grad_clip, 0.0, 1e6);
    f.field("eval_interval", eval_interval, 1, int64_t{1} << 40);
    f.field("stop_accuracy", stop_accuracy, 0.0, 1.0);
    f.field("eval_batches", eval_batches, 1, 1 << 20);
    f.field("log_interval", log_interval, 1, int64_t{1} << 40);
    f.field("seed", seed, 0, std::numeric_limits<int64_t>::max());
    f.field("device", device);
  }

  static TrainConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  // The loop's part of it: AdamW (nanoGPT's decay groups), warm-up + cosine, clipping, intervals.
  LoopConfig loop() const;
};

// Deterministic batch streams: train(step) and valid(k) for k < eval_batches.
// A batch may carry a loss mask ([B, T] float, 1 = scored); an undefined mask scores every target.
struct BatchStream {
  std::function<Batch(int64_t)> train;
  std::function<Batch(int64_t)> valid;
};

// Mean cross-entropy of logits [B,T,V] against targets [B,T], over the mask when defined.
torch::Tensor sequence_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& mask);

// The same loss of model's predictions for inputs [B,T], taken through the model's output head
// without forming the [B,T,V] logits (kernels/cross_entropy.h, linear_cross_entropy): training's loss.
torch::Tensor sequence_loss(SequenceModel& model, const torch::Tensor& inputs, const torch::Tensor& targets,
                            const torch::Tensor& mask);

// The job of training `model` on `data`: every checkpoint holds the model's weights and `meta`
// (experiment config, tokenizer), so load_checkpoint can rebuild it. Evaluation reports val_loss
// and, where the batches carry a score_mask, val_accuracy.
TrainingJob sequence_job(std::shared_ptr<SequenceModel> model, const TrainConfig& config, BatchStream data,
                         const CheckpointContents& meta);

}  // namespace engram
