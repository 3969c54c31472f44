// `engram policy train`: conditional flow matching on a demonstration dataset (RTC spec §2.1, §12.3):
// X^τ = (1 − τ)ε + τA, target velocity A − ε, mean squared error; AdamW 3e-4 with a linear warm-up
// then constant, weight decay 0.01 on every parameter, gradients clipped to norm 10. A run directory
// holds config.json, metrics.jsonl (train and held-out loss), loss.png, checkpoint.safetensors
// (written atomically; --resume continues exactly) and weak.safetensors (the early checkpoint BID
// contrasts against). Checkpoints of the former policy trainer ("model.*"/"optim.*") still load.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engram/policy/mixer_policy.h"
#include "engram/train/trainer.h"

namespace engram {

struct PolicyTrainConfig {
  std::string data;               // the .h5 dataset
  int64_t steps = 10000;
  int64_t batch_size = 256;
  double lr = 3e-4;
  int64_t warmup = 1000;
  double weight_decay = 0.01;
  double grad_clip = 10.0;
  int64_t holdout_every = 20;     // every 20th episode is held out for the validation loss (0: none)
  int64_t eval_interval = 500;    // also the checkpoint interval
  int64_t weak_step = 2500;       // BID's weak checkpoint (≈ 8/32 of training, as in the paper)
  int64_t log_interval = 50;
  int64_t seed = 0;

  template <class F>
  void fields(F& f) {
    f.field("data", data);
    f.field("steps", steps, 1, 100000000);
    f.field("batch_size", batch_size, 1, 1 << 20);
    f.field("lr", lr, 0, 1);
    f.field("warmup", warmup, 0, 100000000);
    f.field("weight_decay", weight_decay, 0, 10);
    f.field("grad_clip", grad_clip, 0, 1e9);
    f.field("holdout_every", holdout_every, 0, 1 << 30);
    f.field("eval_interval", eval_interval, 1, 100000000);
    f.field("weak_step", weak_step, 0, 100000000);
    f.field("log_interval", log_interval, 1, 100000000);
    f.field("seed", seed, 0, INT64_MAX);
  }

  static PolicyTrainConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

struct PolicyRunOptions {
  std::string out;
  bool resume = false;
  bool verbose = true;
  int64_t stop_after = -1;  // stop (with a checkpoint) after this step; resume later
};

// `config` holds {"model": {...}, "train": {...}}; model.obs_dim/action_dim come from the dataset.
// Trains through the one loop (train/trainer.h): a fresh run refuses a folder that holds one; a
// resumed run reads its config.json and applies `config` on top of it.
TrainSummary train_policy(const nlohmann::json& config, const PolicyRunOptions& options);

// BID's weak checkpoint written beside `checkpoint` by the same run (train.weak_step).
std::string weak_checkpoint_beside(const std::string& checkpoint);

// A checkpoint's policy (weights, observation statistics) and its config: a mixer, or a KI policy
// (engram ki train; its EMA weights).
struct LoadedPolicy {
  std::shared_ptr<FlowPolicy> policy;
  std::shared_ptr<torch::nn::Module> module;  // the network inside `policy`
  nlohmann::json config;
  int64_t step = 0;
};
LoadedPolicy load_policy(const std::string& checkpoint);

}  // namespace engram
