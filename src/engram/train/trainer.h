// The one training loop of engram. Sequence models, flow policies and the three-moons memory all
// train through it; what differs between them comes in as a TrainingJob (the loss of a step's
// batch, the held-out evaluation, the tensors a checkpoint holds), and the loop owns what is the
// same: AdamW, the learning-rate schedule, gradient clipping, the NaN/Inf stop, the progress bar,
// metrics.jsonl, Ctrl-C/SIGTERM and --stop-after, atomic checkpoints and bit-exact resume.
//
// Each step: the learning rate from the schedule, the job's loss for the step (its batch is a pure
// function of the step, so resuming draws the same batches), backward, global-norm clipping,
// AdamW. Every eval_interval steps: the job's evaluation, a metrics row and a checkpoint (and an
// early stop once the evaluation's val_accuracy reaches stop_accuracy). A non-finite loss or
// gradient stops the run with a clear message and leaves the last good checkpoint untouched.
//
// Data-parallel (distribute()): every rank computes the loss of its own slice of the step's batch
// (the batch is still a function of the step, so the global batch is the same for any number of
// ranks), gradients are averaged across ranks in one place (here, weighted by what each slice's
// loss is a mean over), and only rank 0 writes metrics, plots and checkpoints.
//
// Checkpoint layout (safetensors): the job's tensors under their own names, the optimizer moments
// under "optimizer.*", the torch random-generator state under "rng.*"; metadata
// "engram.train_state" (step, counters, the running loss mean) beside the job's own metadata.
#pragma once

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/core/safetensors.h"
#include "engram/train/adamw.h"

namespace engram {

class Collective;

// This rank's part of a step's batch: rows [index·B/count, (index+1)·B/count) of B.
struct Shard {
  int index = 0, count = 1;
  // Throws engram::Error when B is not a multiple of the number of ranks.
  torch::Tensor rows(const torch::Tensor& batch) const;
};

enum class Schedule {
  kCosine,          // linear warm-up to lr over `warmup` steps, cosine decay to min_lr at `steps`
  kWarmupConstant,  // lr · min(step / warmup, 1): the RTC policies' optax schedule
  kLinear,          // from lr at step 0 to min_lr at the last step (three moons)
};

struct LoopConfig {
  int64_t steps = 1000;
  double lr = 1e-3, min_lr = 1e-4;
  int64_t warmup = 100;
  Schedule schedule = Schedule::kCosine;
  AdamWConfig adam;
  double grad_clip = 1.0;       // max global gradient norm; 0 disables clipping
  int64_t eval_interval = 100;  // also the checkpoint interval
  int64_t log_interval = 10;
  double stop_accuracy = 0;     // stop at the first evaluation whose val_accuracy reaches this (0: never)
};

// The learning rate of update `step` (0-based).
double scheduled_lr(const LoopConfig& config, int64_t step);

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// What one kind of model brings to the loop.
struct TrainingJob {
  NamedTensors parameters;  // what AdamW updates (and clipping sees), in a fixed order
  // Clipping groups (e.g. a KI policy's backbone and action expert, KI spec §5.5): each parameter's
  // group index into clip_group_names, each group clipped to grad_clip on its own and its norm
  // logged as grad_norm_<name>. Empty: one global norm.
  std::vector<int> clip_group;
  std::vector<std::string> clip_group_names;
  // Per parameter, a factor on the scheduled learning rate (e.g. KI spec §8.5's higher rate for the
  // backbone); empty: 1 for all.
  std::vector<double> lr_scale;
  // The model's tensors in a checkpoint (parameters and buffers), and their way back in: load
  // must check every name and shape and throw engram::Error naming what does not fit.
  std::function<NamedTensors()> weights;
  std::function<void(const SafeTensors&)> load;
  // The loss of this rank's shard of the batch of `step`, how many items (tokens, samples) the
  // shard holds, and what its loss is a mean over (scored tokens, say; < 0: the items), so that
  // ranks' gradients average to the gradient of the whole batch's mean.
  struct StepLoss {
    torch::Tensor loss;
    int64_t items = 0;
    double weight = -1;
  };
  std::function<StepLoss(int64_t step, const Shard& shard)> loss;
  std::string items = "tokens";  // names the throughput column: <items>_per_s
  // Held-out metrics at an evaluation ({"val_loss": …, "val_accuracy": …}); may be empty.
  std::function<nlohmann::json()> evaluate;
  std::function<void(bool training)> set_training;  // dropout on or off; may be empty
  std::map<std::string, std::string> metadata;      // stored in every checkpoint
  std::string loss_name = "loss";  // the y label of loss.png
  std::string resume_command;      // how a user continues a stopped run ("--resume DIR"); empty: none
  // Called after every update with the number of updates done, before that step's evaluation and
  // checkpoint (e.g. to update EMA weights, or write BID's weak checkpoint with Trainer::save);
  // may be empty.
  std::function<void(int64_t steps_done, const class Trainer& trainer)> after_step;
};

struct TrainSummary {
  int64_t steps = 0;
  double train_loss = 0;                 // mean over the last evaluation interval
  double val_loss = std::nan("");        // at the last evaluation
  double val_accuracy = std::nan("");    // task accuracy at the last evaluation, where the job measures one
  nlohmann::json task_score = nlohmann::json::object();  // a task's final metrics (Task::score), also in score.json
  double tokens_per_second = 0;          // items per second over the last interval
  double seconds = 0;
  std::string checkpoint;
  bool already_finished = false;  // resumed at `steps`: nothing was trained or written
  // Data-parallel runs: ranks, and per step of this process's run the wall time and the
  // gradient all-reduce's time (NaN when it overlaps the backward pass) and bytes, on each rank.
  int ranks = 1;
  double step_ms = 0, allreduce_ms = 0, allreduce_bytes = 0;
};

// "data-parallel over 2 ranks: 35.2 ms per step, gradient all-reduce 3.40 ms and 0.450 MB per step"
// (or "… 0.450 MB per step, overlapped with the backward pass").
std::string data_parallel_report(const TrainSummary& summary);

// Rewrites, in place, a checkpoint of engram's former policy trainer ("model.*" weights, "optim.*"
// moments, "engram.step") into the one layout above; other files are left as they are.
void read_legacy_layout(SafeTensors& file);

class Trainer {
 public:
  // `run_dir` must exist; checkpoints go to run_dir/checkpoint.safetensors and metrics to
  // run_dir/metrics.jsonl. `label` starts the progress bar.
  Trainer(TrainingJob job, LoopConfig config, std::string run_dir, bool show_progress = true, std::string label = "train");

  // Continues from run_dir's checkpoint: weights, optimizer moments, step, running means and RNG
  // state, so that the rest of the run is bit-identical to an uninterrupted one. Refuses a
  // config.steps below the steps already trained.
  void resume();
  // Whether the run has reached config.steps (run() then trains nothing and writes nothing).
  bool finished() const { return step_ >= config_.steps; }

  // Trains to config.steps, or stops after step `stop_after` with a checkpoint (resume() goes on).
  // Ctrl-C or SIGTERM stop the same way after the current step, then throw engram::Error saying
  // how to resume.
  TrainSummary run(int64_t stop_after = -1);

  // Writes the current state as a checkpoint to `path` (the run's own, or e.g. BID's weak one);
  // on ranks other than 0 it writes nothing.
  void save(const std::string& path) const;

  // Trains data-parallel in `group` (which must outlive the trainer): call before resume() and
  // run(). run() then starts by broadcasting rank 0's parameters and checking them equal.
  void distribute(Collective* group);

 private:
  std::string kept_checkpoint_note() const;  // for the message of a stopped run

  TrainingJob job_;
  LoopConfig config_;
  std::string run_dir_;
  bool show_progress_;
  std::string label_;
  AdamW optimizer_;
  Collective* group_ = nullptr;
  int64_t step_ = 0;         // updates done
  int64_t items_seen_ = 0;
  double seconds_ = 0;       // training wall time before this process (restored on resume)
  double window_loss_ = 0;   // sum of the train losses since the last evaluation (checkpointed)
  int64_t window_steps_ = 0;
};

}  // namespace engram
