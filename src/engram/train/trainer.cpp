#include "engram/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/json.h"
#include "engram/core/metrics.h"
#include "engram/core/plot.h"
#include "engram/core/progress.h"
#include "engram/core/seed.h"
#include "engram/core/stop_signal.h"
#include "engram/tasks/task.h"

namespace engram {

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigObject c(j, where);
  TrainConfig t;
  t.steps = c.integer("steps", t.steps, 1, int64_t{1} << 40);
  t.batch_size = c.integer("batch_size", t.batch_size, 1, 1 << 20);
  t.block_size = c.integer("block_size", t.block_size, 1, 1 << 24);
  t.lr = c.number("lr", t.lr, 0.0, 1e3);
  t.min_lr = c.number("min_lr", t.min_lr, 0.0, 1e3);
  t.warmup = c.integer("warmup", t.warmup, 0, int64_t{1} << 40);
  t.weight_decay = c.number("weight_decay", t.weight_decay, 0.0, 10.0);
  t.beta1 = c.number("beta1", t.beta1, 0.0, 0.999999);
  t.beta2 = c.number("beta2", t.beta2, 0.0, 0.999999);
  t.grad_clip = c.number("grad_clip", t.grad_clip, 0.0, 1e6);
  t.eval_interval = c.integer("eval_interval", t.eval_interval, 1, int64_t{1} << 40);
  t.stop_accuracy = c.number("stop_accuracy", t.stop_accuracy, 0.0, 1.0);
  t.eval_batches = c.integer("eval_batches", t.eval_batches, 1, 1 << 20);
  t.log_interval = c.integer("log_interval", t.log_interval, 1, int64_t{1} << 40);
  t.seed = c.integer("seed", t.seed, 0, std::numeric_limits<int64_t>::max());
  t.device = c.string("device", t.device);
  c.finish();
  if (t.min_lr > t.lr) throw Error("config " + c.path("min_lr") + " must not exceed " + c.path("lr"));
  return t;
}

nlohmann::json TrainConfig::to_json() const {
  return {{"steps", steps}, {"batch_size", batch_size}, {"block_size", block_size}, {"lr", lr},
          {"min_lr", min_lr}, {"warmup", warmup}, {"weight_decay", weight_decay}, {"beta1", beta1},
          {"beta2", beta2}, {"grad_clip", grad_clip}, {"eval_interval", eval_interval},
          {"stop_accuracy", stop_accuracy}, {"eval_batches", eval_batches}, {"log_interval", log_interval}, {"seed", seed}, {"device", device}};
}

torch::Tensor sequence_loss(const torch::Tensor& logits, const torch::Tensor& targets, const torch::Tensor& mask) {
  const int64_t V = logits.size(-1);
  auto ce = torch::nn::functional::cross_entropy(
      logits.reshape({-1, V}), targets.reshape({-1}),
      torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  if (!mask.defined()) return ce.mean();
  auto m = mask.reshape({-1}).to(ce.dtype());
  return (ce * m).sum() / m.sum().clamp_min(1.0);
}

namespace {
std::vector<std::pair<std::string, torch::Tensor>> named(SequenceModel& model) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : model.named_parameters()) out.emplace_back(p.key(), p.value());
  return out;
}

void plot_losses(const std::string& run_dir) {
  PlotSeries train{"train"}, valid{"validation"};
  valid.style = "o-";
  for (const auto& r : read_metrics(run_dir + "/metrics.jsonl")) {
    if (r.contains("train_loss")) train.x.push_back(r["step"]), train.y.push_back(r["train_loss"]);
    if (r.contains("val_loss")) valid.x.push_back(r["step"]), valid.y.push_back(r["val_loss"]);
  }
  PlotSpec spec{run_dir + "/loss.png", "loss", "step", "cross-entropy (nats/token)"};
  spec.series = {train, valid};
  plot_lines(spec);
}
}  // namespace

Trainer::Trainer(std::shared_ptr<SequenceModel> model, TrainConfig config, BatchStream data, std::string run_dir,
                 CheckpointContents meta, bool show_progress)
    : model_(std::move(model)), config_(std::move(config)), data_(std::move(data)), run_dir_(std::move(run_dir)),
      meta_(std::move(meta)), show_progress_(show_progress),
      optimizer_(named(*model_), AdamWConfig{config_.beta1, config_.beta2, 1e-8, config_.weight_decay}) {}

void Trainer::save(int64_t next_step) {
  // The running train-loss mean is state too: a run resumed between evaluations must log the same
  // train_loss_mean as an uninterrupted one.
  meta_.train_state = {{"step", next_step},          {"tokens", tokens_seen_},
                       {"seconds", seconds_},        {"window_loss", window_loss_},
                       {"window_steps", window_steps_}};
  save_checkpoint(run_dir_ + "/checkpoint.safetensors", *model_, &optimizer_, meta_);
}

void Trainer::resume() {
  const std::string path = run_dir_ + "/checkpoint.safetensors";
  auto file = load_safetensors(path);
  load_weights(*model_, file);
  optimizer_.load_state(optimizer_tensors(file), "checkpoint " + path);
  auto state = file.metadata.count("engram.train_state")
                   ? parse_json(file.metadata.at("engram.train_state"), "checkpoint " + path + ": training state")
                   : nlohmann::json();
  if (!state.is_object()) throw Error("checkpoint " + path + " has no training state; it cannot be resumed");
  step_ = state.at("step").get<int64_t>();
  tokens_seen_ = state.value("tokens", int64_t{0});
  seconds_ = state.value("seconds", 0.0);
  window_loss_ = state.value("window_loss", 0.0);
  window_steps_ = state.value("window_steps", int64_t{0});
  if (step_ > config_.steps)
    throw Error("cannot set train.steps = " + std::to_string(config_.steps) + ": run " + run_dir_ + " has trained " +
                std::to_string(step_) + " steps already");
  if (file.contains("rng.torch_cpu")) set_torch_rng_state(file.at("rng.torch_cpu"));
}

Trainer::Evaluation Trainer::evaluate() {
  torch::NoGradGuard no_grad;
  model_->eval();
  double loss = 0, accuracy = 0;
  for (int64_t k = 0; k < config_.eval_batches; ++k) {
    Batch b = data_.valid(k);
    auto logits = model_->forward(b.inputs);
    loss += sequence_loss(logits, b.targets, b.mask).item<double>();
    accuracy += masked_accuracy(logits, b);
  }
  model_->train();
  const double n = static_cast<double>(config_.eval_batches);
  return {loss / n, accuracy / n};
}

std::string Trainer::kept_checkpoint_note() const {
  const std::string ckpt = run_dir_ + "/checkpoint.safetensors";
  if (std::filesystem::exists(ckpt)) return "the last good checkpoint is kept at " + ckpt;
  return "no checkpoint had been written yet (the first comes at step " + std::to_string(config_.eval_interval) + ")";
}

TrainSummary Trainer::run(int64_t stop_after) {
  const std::string ckpt = run_dir_ + "/checkpoint.safetensors";
  TrainSummary summary;
  summary.checkpoint = ckpt;
  if (step_ >= config_.steps) {  // a finished run, resumed: report it as it ended, change nothing
    summary.already_finished = true;
    summary.steps = step_;
    auto number = [](const nlohmann::json& row, const char* key) {
      return row.contains(key) && row[key].is_number() ? row[key].get<double>() : std::nan("");
    };
    for (const auto& r : read_metrics(run_dir_ + "/metrics.jsonl")) {
      if (!r.contains("val_loss")) continue;
      summary.val_loss = number(r, "val_loss");
      summary.train_loss = number(r, "train_loss_mean");
      summary.val_accuracy = number(r, "val_accuracy");
    }
    return summary;
  }
  MetricsLog log(run_dir_ + "/metrics.jsonl", step_);
  Progress progress("train", config_.steps, step_);
  const auto params = model_->parameters();
  model_->train();

  int64_t window_tokens = 0;
  auto window_start = std::chrono::steady_clock::now();
  const auto run_start = window_start;
  double tokens_per_second = 0;
  StopSignal stop;

  for (; step_ < config_.steps; ++step_) {
    const double lr = cosine_lr(step_, config_.warmup, config_.steps, config_.lr, config_.min_lr);
    Batch b = data_.train(step_);
    auto loss = sequence_loss(model_->forward(b.inputs), b.targets, b.mask);
    const double loss_value = loss.item<double>();
    if (!std::isfinite(loss_value))
      throw Error("step " + std::to_string(step_) + ": training loss is " + std::to_string(loss_value) + "; stopped, " +
                  kept_checkpoint_note() + " (try a lower train.lr or train.grad_clip)");
    optimizer_.zero_grad();
    loss.backward();
    const double grad_norm = clip_grad_norm(params, config_.grad_clip);
    if (!std::isfinite(grad_norm))
      throw Error("step " + std::to_string(step_) + ": gradient norm is " + std::to_string(grad_norm) + "; stopped, " +
                  kept_checkpoint_note() + " (try a lower train.lr)");
    optimizer_.step(lr);

    const int64_t tokens = b.inputs.numel();
    tokens_seen_ += tokens;
    window_loss_ += loss_value;
    window_steps_ += 1;
    window_tokens += tokens;
    const double window_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
    if (window_seconds > 0) tokens_per_second = window_tokens / window_seconds;

    if (step_ % config_.log_interval == 0 || step_ + 1 == config_.steps) {
      log.write({{"step", step_}, {"train_loss", loss_value}, {"lr", lr}, {"grad_norm", grad_norm},
                 {"tokens_per_s", tokens_per_second}});
    }
    const bool eval_now = (step_ + 1) % config_.eval_interval == 0 || step_ + 1 == config_.steps;
    if (eval_now) {
      const auto val = evaluate();
      summary.train_loss = window_loss_ / static_cast<double>(std::max<int64_t>(1, window_steps_));
      summary.val_loss = val.loss;
      summary.val_accuracy = val.accuracy;
      nlohmann::json record = {{"step", step_}, {"val_loss", val.loss}, {"train_loss_mean", summary.train_loss}};
      if (std::isfinite(val.accuracy)) record["val_accuracy"] = val.accuracy;
      log.write(record);
      seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      window_loss_ = 0;
      window_steps_ = 0;
      save(step_ + 1);
      window_tokens = 0;
      window_start = std::chrono::steady_clock::now();
    } else if (step_ + 1 == stop_after || stop.requested()) {
      seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      save(step_ + 1);
      window_start = std::chrono::steady_clock::now();
    }
    if (stop.requested())
      throw Error(std::string(stop.name()) + " after step " + std::to_string(step_ + 1) +
                  "; checkpoint saved, continue with --resume " + run_dir_);
    if (step_ + 1 == stop_after || (eval_now && config_.stop_accuracy > 0 && summary.val_accuracy >= config_.stop_accuracy)) {
      ++step_;
      break;
    }
    if (show_progress_) {
      char fields[160];
      char val[48] = "-";
      if (summary.val_loss > 0) std::snprintf(val, sizeof val, "%.4f", summary.val_loss);
      if (std::isfinite(summary.val_accuracy))
        std::snprintf(val + std::strlen(val), sizeof val - std::strlen(val), " (acc %.3f)", summary.val_accuracy);
      std::snprintf(fields, sizeof fields, "loss %.4f | val %s | %s tok/s", loss_value, val,
                    human_count(tokens_per_second).c_str());
      progress.update(step_ + 1, fields);
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  if (show_progress_) {
    char fields[160];
    std::snprintf(fields, sizeof fields, "train %.4f | val %.4f | %s tok/s", summary.train_loss, summary.val_loss,
                  human_count(tokens_per_second).c_str());
    progress.finish(fields);
  }
  plot_losses(run_dir_);
  summary.steps = step_;
  summary.tokens_per_second = tokens_per_second;
  summary.seconds = wall;
  return summary;
}

}  // namespace engram
