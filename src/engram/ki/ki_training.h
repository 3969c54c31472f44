// `engram ki pretrain` and `engram ki train` (KI spec §8.3, §8.4), through the one training loop.
//
// Stage 0 pre-trains the backbone as a language model on TableWorld's corpus (one sentence per
// row, fact questions in prefix-LM form) and records the reference held-out NLL and FactAcc.
// Stage 1 trains a recipe (recipe.h) from that backbone on demonstrations: per step a robot batch
// (prefix from the observation, the chunk's FAST block, the noisy chunk) and, when co-training, an
// LM batch; loss = CE_FAST + CE_LM + α·L_flow; the backbone and the expert clipped as two groups;
// EMA weights for evaluation (decay min(ema, (1 + s)/(10 + s)), so early evaluations are not
// dominated by the initial weights). Every eval_interval steps: rollouts on the three splits,
// held-out NLL and its change from stage 0, FactAcc, decoded-action MSE on held-out chunks.
#pragma once

#include <string>

#include "engram/core/config.h"
#include "engram/ki/recipe.h"
#include "engram/train/trainer.h"

namespace engram::ki {

struct PretrainConfig {
  int64_t width = 128, ffn = 256, depth = 4, heads = 4, head_dim = 32;
  int64_t steps = 4000;
  int64_t batch_size = 64;
  double lr = 1e-3, min_lr = 1e-4;
  int64_t warmup = 200;
  double weight_decay = 0.01;
  double grad_clip = 1.0;
  int64_t eval_interval = 250;
  int64_t log_interval = 50;
  bool bridging = false;          // add bridging sentences to the corpus (spec §8.1)
  uint64_t seed = 0;

  template <class F>
  void fields(F& f) {
    f.field("width", width, 2, 4096, "backbone width");
    f.field("ffn", ffn, 1, 65536, "backbone GeGLU hidden size");
    f.field("depth", depth, 1, 64, "layers (the expert gets as many)");
    f.field("heads", heads, 1, 64, "query heads (one K/V head)");
    f.field("head_dim", head_dim, 2, 512, "channels per head");
    f.field("steps", steps, 1, 10000000, "training steps");
    f.field("batch_size", batch_size, 1, 65536, "sentences per step");
    f.field("lr", lr, 0.0, 1.0, "peak learning rate");
    f.field("min_lr", min_lr, 0.0, 1.0, "final learning rate (cosine)");
    f.field("warmup", warmup, 0, 10000000, "warm-up steps");
    f.field("weight_decay", weight_decay, 0.0, 10.0, "AdamW weight decay");
    f.field("grad_clip", grad_clip, 0.0, 1e9, "gradient norm clip (0: off)");
    f.field("eval_interval", eval_interval, 1, 10000000, "steps between evaluations and checkpoints");
    f.field("log_interval", log_interval, 1, 10000000, "steps between metrics rows");
    f.field("bridging", bridging, "add bridging sentences for all 24 entities");
    f.field("seed", seed, 0, INT64_MAX, "seed");
  }
};

struct KiTrainConfig {
  std::string data;               // TableWorld demonstrations (.h5)
  std::string backbone;           // stage 0's checkpoint
  Recipe recipe = Recipe::kR5;
  std::string fast;               // an action tokenizer file (FAST, or bins for R8); empty: fitted on the training chunks
  double fast_gamma = 10;
  int64_t fast_vocab = 256;
  int64_t bins = 32;              // R8: bins per action value
  int64_t expert_width = 64, expert_ffn = 128;
  int64_t horizon = 16;
  int64_t steps = 3000;
  int64_t robot_batch = 32, lm_batch = 16;
  double lr = 3e-4, min_lr = 3e-5;
  double backbone_lr_scale = 1;   // the backbone group's learning rate is this × the schedule's
  int64_t warmup = 200;
  double weight_decay = 1e-4;
  double grad_clip = 1.0;
  double alpha = 1.0;             // weight of the flow loss
  double ema = 0.999;
  int64_t eval_interval = 250;
  int64_t eval_episodes = 64;     // per split
  int64_t eval_chunks = 1024;     // held-out chunks for the decoded-action MSE
  int64_t flow_steps = 10;        // Euler steps at evaluation
  int64_t shift = 8;              // actions executed per chunk in rollouts
  int64_t holdout_every = 20;     // every 20th episode is held out
  int64_t log_interval = 25;
  std::vector<int64_t> diagnostic_steps{0, 100, 500};  // flow vs CE gradient into the backbone
  uint64_t seed = 0;

  template <class F>
  void fields(F& f) {
    f.field("data", data, "TableWorld demonstrations (engram sim demos --task tableworld)");
    f.field("backbone", backbone, "stage 0's checkpoint (engram ki pretrain)");
    f.field("recipe", recipe, "R1 … R10 (KI spec §8.4)");
    f.field("fast", fast, "action tokenizer file: FAST, or bins for R8 (default: fitted on the training chunks)");
    f.field("fast_gamma", fast_gamma, 0.01, 1000.0, "FAST scale γ when fitting");
    f.field("fast_vocab", fast_vocab, 2, 256, "FAST BPE vocabulary when fitting");
    f.field("bins", bins, 2, 256, "bins per action value of R8's naïve tokens");
    f.field("expert_width", expert_width, 2, 4096, "action-expert width");
    f.field("expert_ffn", expert_ffn, 1, 65536, "action-expert GeGLU hidden size");
    f.field("horizon", horizon, 1, 256, "actions per chunk H");
    f.field("steps", steps, 1, 10000000, "training steps");
    f.field("robot_batch", robot_batch, 1, 65536, "robot examples per step");
    f.field("lm_batch", lm_batch, 0, 65536, "LM sentences per step when co-training");
    f.field("lr", lr, 0.0, 1.0, "peak learning rate");
    f.field("min_lr", min_lr, 0.0, 1.0, "final learning rate (cosine)");
    f.field("backbone_lr_scale", backbone_lr_scale, 0.0, 1000.0, "factor on the backbone group's learning rate (a knob of KI spec §8.5)");
    f.field("warmup", warmup, 0, 10000000, "warm-up steps");
    f.field("weight_decay", weight_decay, 0.0, 10.0, "AdamW weight decay");
    f.field("grad_clip", grad_clip, 0.0, 1e9, "gradient norm clip per group (0: off)");
    f.field("alpha", alpha, 0.0, 1e6, "weight of the flow loss");
    f.field("ema", ema, 0.0, 1.0, "EMA decay of the evaluation weights");
    f.field("eval_interval", eval_interval, 1, 10000000, "steps between evaluations and checkpoints");
    f.field("eval_episodes", eval_episodes, 1, 100000, "rollouts per split per evaluation");
    f.field("eval_chunks", eval_chunks, 1, 1000000, "held-out chunks for the decoded-action MSE");
    f.field("flow_steps", flow_steps, 1, 1000, "Euler steps at evaluation");
    f.field("shift", shift, 1, 256, "actions executed per chunk in rollouts");
    f.field("holdout_every", holdout_every, 2, 1 << 30, "every n-th episode is held out");
    f.field("log_interval", log_interval, 1, 10000000, "steps between metrics rows");
    f.field("seed", seed, 0, INT64_MAX, "seed");
  }
};

// A resumed run (resume = true) continues run_dir/checkpoint.safetensors; its config is the saved
// config.json with the settings given on top (resolved by the caller: settings_for_run).
struct KiRunOptions {
  std::string out;
  bool resume = false;
  bool verbose = true;
  int64_t stop_after = -1;
};

// The settings of a run: for a resumed run its saved config.json with `given` merged on top.
template <class T>
T settings_for_run(const nlohmann::json& given, const KiRunOptions& o) {
  if (!o.resume) return read_config<T>(given, "");
  auto saved = read_json_file(o.out + "/config.json", "run config");
  merge_json(saved, given);
  return read_config<T>(saved, "");
}

TrainSummary pretrain_backbone(const PretrainConfig& config, const KiRunOptions& options);
TrainSummary train_recipe(const KiTrainConfig& config, const KiRunOptions& options);

}  // namespace engram::ki
