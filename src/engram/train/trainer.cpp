#include "engram/train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>

#include "engram/core/error.h"
#include "engram/core/json.h"
#include "engram/core/metrics.h"
#include "engram/core/plot.h"
#include "engram/core/progress.h"
#include "engram/core/seed.h"
#include "engram/core/stop_signal.h"
#include "engram/distributed/collective.h"

namespace engram {

namespace {
const std::string kOptimizer = "optimizer.", kRng = "rng.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

void plot_losses(const std::string& run_dir, const std::string& loss_name) {
  PlotSeries train, valid;
  train.label = "train";
  valid.label = "validation";
  valid.style = "o-";
  for (const auto& r : read_metrics(run_dir + "/metrics.jsonl")) {
    if (r.contains("train_loss")) train.x.push_back(r["step"]), train.y.push_back(r["train_loss"]);
    if (r.contains("val_loss") && r["val_loss"].is_number()) valid.x.push_back(r["step"]), valid.y.push_back(r["val_loss"]);
  }
  PlotSpec spec;
  spec.out = run_dir + "/loss.png";
  spec.title = "loss";
  spec.xlabel = "step";
  spec.ylabel = loss_name;
  spec.series = {train};
  if (!valid.x.empty()) spec.series.push_back(valid);
  plot_lines(spec);
}

double number_or_nan(const nlohmann::json& row, const char* key) {
  return row.contains(key) && row[key].is_number() ? row[key].get<double>() : std::nan("");
}
}  // namespace

torch::Tensor Shard::rows(const torch::Tensor& batch) const {
  if (count == 1) return batch;
  const int64_t B = batch.size(0);
  if (B % count != 0)
    throw Error("a batch of " + std::to_string(B) + " rows cannot be split evenly across " + std::to_string(count) +
                " ranks: make the batch size a multiple of the number of ranks");
  return batch.narrow(0, index * (B / count), B / count);
}

double scheduled_lr(const LoopConfig& c, int64_t step) {
  switch (c.schedule) {
    case Schedule::kCosine:
      return cosine_lr(step, c.warmup, c.steps, c.lr, c.min_lr);
    case Schedule::kWarmupConstant:
      return c.lr * (c.warmup > 0 ? std::min(1.0, static_cast<double>(step) / static_cast<double>(c.warmup)) : 1.0);
    case Schedule::kLinear:
      return c.lr + (c.min_lr - c.lr) * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, c.steps - 1));
  }
  return c.lr;
}

std::string data_parallel_report(const TrainSummary& s) {
  char text[200];
  if (std::isfinite(s.allreduce_ms))
    std::snprintf(text, sizeof text, "data-parallel over %d ranks: %.2f ms per step, gradient all-reduce %.2f ms and %.3f MB per step",
                  s.ranks, s.step_ms, s.allreduce_ms, s.allreduce_bytes / 1e6);
  else
    std::snprintf(text, sizeof text, "data-parallel over %d ranks: %.2f ms per step, gradient all-reduce of %.3f MB per step overlapped with the backward pass",
                  s.ranks, s.step_ms, s.allreduce_bytes / 1e6);
  return text;
}

void read_legacy_layout(SafeTensors& file) {
  if (!file.metadata.count("engram.step") || file.metadata.count("engram.train_state")) return;
  std::vector<std::pair<std::string, torch::Tensor>> renamed;
  for (auto& [name, t] : file.tensors) {
    if (starts_with(name, "model.")) renamed.emplace_back(name.substr(6), t);
    else if (starts_with(name, "optim.")) renamed.emplace_back(kOptimizer + name.substr(6), t);
    else renamed.emplace_back(name, t);
  }
  file.tensors = std::move(renamed);
  int64_t step = 0;
  try {
    step = std::stoll(file.metadata.at("engram.step"));
  } catch (const std::exception&) {
    throw Error("checkpoint " + file.source + ": engram.step is not a number (corrupt?)");
  }
  nlohmann::json state = {{"step", step}};
  file.metadata.erase("engram.step");
  file.metadata["engram.train_state"] = state.dump();
}

Trainer::Trainer(TrainingJob job, LoopConfig config, std::string run_dir, bool show_progress, std::string label)
    : job_(std::move(job)), config_(config), run_dir_(std::move(run_dir)), show_progress_(show_progress),
      label_(std::move(label)), optimizer_(job_.parameters, config_.adam, job_.lr_scale) {
  if (!job_.clip_group.empty()) {
    if (job_.clip_group.size() != job_.parameters.size())
      throw Error("trainer: " + std::to_string(job_.clip_group.size()) + " clipping-group entries for " +
                  std::to_string(job_.parameters.size()) + " parameters");
    for (int g : job_.clip_group)
      if (g < 0 || g >= static_cast<int>(job_.clip_group_names.size())) throw Error("trainer: clipping group " + std::to_string(g) + " has no name");
  }
}

void Trainer::distribute(Collective* group) {
  group_ = group;
  if (group_ && !group_->world().primary()) show_progress_ = false;
}

void Trainer::save(const std::string& path) const {
  if (group_ && !group_->world().primary()) return;
  NamedTensors tensors = job_.weights();
  for (const auto& [name, t] : optimizer_.state()) tensors.emplace_back(kOptimizer + name, t);
  tensors.emplace_back(kRng + "torch_cpu", torch_rng_state());
  auto meta = job_.metadata;
  meta["format"] = "pt";
  // The running train-loss mean is state too: a run resumed between evaluations must log the same
  // train_loss_mean as an uninterrupted one.
  meta["engram.train_state"] = nlohmann::json{{"step", step_},
                                              {"items", items_seen_},
                                              {"seconds", seconds_},
                                              {"window_loss", window_loss_},
                                              {"window_steps", window_steps_}}
                                   .dump();
  save_safetensors(path, tensors, meta);
}

void Trainer::resume() {
  const std::string path = run_dir_ + "/checkpoint.safetensors";
  auto file = load_safetensors(path);
  read_legacy_layout(file);
  job_.load(file);
  NamedTensors moments;
  for (const auto& [name, t] : file.tensors)
    if (starts_with(name, kOptimizer)) moments.emplace_back(name.substr(kOptimizer.size()), t);
  optimizer_.load_state(moments, "checkpoint " + path);
  const auto state = file.metadata.count("engram.train_state")
                         ? parse_json(file.metadata.at("engram.train_state"), "checkpoint " + path + ": training state")
                         : nlohmann::json();
  if (!state.is_object() || !state.contains("step") || !state["step"].is_number_integer())
    throw Error("checkpoint " + path + " has no training state; it cannot be resumed");
  step_ = state["step"].get<int64_t>();
  items_seen_ = state.value("items", state.value("tokens", int64_t{0}));
  seconds_ = state.value("seconds", 0.0);
  window_loss_ = state.value("window_loss", 0.0);
  window_steps_ = state.value("window_steps", int64_t{0});
  if (file.contains(kRng + "torch_cpu")) set_torch_rng_state(file.at(kRng + "torch_cpu"));
  if (step_ > config_.steps)
    throw Error("cannot set train.steps = " + std::to_string(config_.steps) + ": run " + run_dir_ + " has trained " +
                std::to_string(step_) + " steps already");
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
  if (finished()) {  // a finished run, resumed: report it as it ended, change nothing
    summary.already_finished = true;
    summary.steps = step_;
    for (const auto& r : read_metrics(run_dir_ + "/metrics.jsonl")) {
      if (!r.contains("train_loss_mean")) continue;
      summary.train_loss = number_or_nan(r, "train_loss_mean");
      summary.val_loss = number_or_nan(r, "val_loss");
      summary.val_accuracy = number_or_nan(r, "val_accuracy");
    }
    return summary;
  }
  const bool primary = !group_ || group_->world().primary();
  std::optional<MetricsLog> log;  // rank 0 writes, the others only compute
  if (primary) log.emplace(run_dir_ + "/metrics.jsonl", step_);
  Progress progress(label_, config_.steps, step_);
  std::vector<torch::Tensor> params;
  for (const auto& [name, p] : job_.parameters) params.push_back(p);
  Shard shard;
  if (group_) {
    shard = {group_->world().rank, group_->world().world_size};
    group_->broadcast(params);
    double checksum = 0;
    for (const auto& p : params) checksum += p.to(torch::kFloat64).abs().sum().item<double>();
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", checksum);
    group_->require_same("the parameters after the broadcast", text);
    // Gradients are all-reduced during the backward pass (DDP's reducer); ENGRAM_OVERLAP_ALLREDUCE=0
    // reduces them after it instead, which is slower but lets the all-reduce be timed on its own.
    const char* overlap = std::getenv("ENGRAM_OVERLAP_ALLREDUCE");
    if (!group_->overlapping() && !(overlap && std::string(overlap) == "0")) group_->overlap_gradients(params);
  }
  if (job_.set_training) job_.set_training(true);

  const int64_t first_step = step_;
  int64_t window_items = 0;
  int64_t logged_step = step_, logged_bytes = 0;
  double logged_seconds = 0;
  auto window_start = std::chrono::steady_clock::now();
  const auto run_start = window_start;
  double items_per_second = 0;
  const std::string speed_key = job_.items + "_per_s";
  // Signals are caught while training only: a Ctrl-C during the final plot just ends the plotter.
  for (StopSignal stop; step_ < config_.steps;) {
    const int64_t s = step_;  // this update's index
    const double lr = scheduled_lr(config_, s);
    auto [loss, items, weight] = job_.loss(s, shard);
    double loss_value = loss.item<double>();
    // Read once: a signal that arrives after this point is handled after the next step, so the
    // message below never claims a checkpoint that was not written.
    bool stopping = stop.requested();
    if (group_) {
      // Every rank sees the whole batch's loss, item count and any rank's stop request, so all of
      // them take the same decisions; each weights its gradient by its share of the batch.
      const double w = weight >= 0 ? weight : static_cast<double>(items);
      const auto total = group_->sum({loss_value * w, w, static_cast<double>(items), stopping ? 1.0 : 0.0});
      // No rank scored anything (a batch without targets): nothing to learn from this step.
      loss_value = total[1] > 0 ? total[0] / total[1] : 0.0;
      loss = loss * (total[1] > 0 ? w * group_->world().world_size / total[1] : 0.0);
      items = static_cast<int64_t>(total[2]);
      stopping = total[3] > 0;
    }
    if (!std::isfinite(loss_value))
      throw Error("step " + std::to_string(s) + ": training loss is " + std::to_string(loss_value) + "; stopped, " +
                  kept_checkpoint_note() + " (try a lower learning rate or tighter gradient clipping)");
    optimizer_.zero_grad();
    if (group_ && group_->overlapping()) group_->expect_backward(loss);
    loss.backward();
    if (group_) {
      // A parameter no rank has ever had a gradient for keeps none (AdamW then leaves it alone, as
      // in one process); the reduction itself works on zeros for it.
      std::vector<double> had;
      for (const auto& p : params) had.push_back(p.grad().defined() ? 1.0 : 0.0);
      if (group_->overlapping()) {
        group_->finish_backward();
      } else {
        std::vector<torch::Tensor> grads;
        for (auto& p : params) {
          if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
          grads.push_back(p.grad());
        }
        group_->average(grads);
      }
      const auto any = group_->sum(had);
      for (size_t i = 0; i < params.size(); ++i)
        if (any[i] == 0) params[i].mutable_grad() = torch::Tensor();
    }
    double grad_norm = 0;
    std::vector<double> group_norms;
    if (job_.clip_group.empty()) {
      grad_norm = clip_grad_norm(params, config_.grad_clip);
    } else {
      for (size_t g = 0; g < job_.clip_group_names.size(); ++g) {
        std::vector<torch::Tensor> members;
        for (size_t i = 0; i < params.size(); ++i)
          if (job_.clip_group[i] == static_cast<int>(g)) members.push_back(params[i]);
        group_norms.push_back(clip_grad_norm(members, config_.grad_clip));
        grad_norm += group_norms.back() * group_norms.back();
      }
      grad_norm = std::sqrt(grad_norm);
    }
    if (!std::isfinite(grad_norm))
      throw Error("step " + std::to_string(s) + ": gradient norm is " + std::to_string(grad_norm) + "; stopped, " +
                  kept_checkpoint_note() + " (try a lower learning rate)");
    optimizer_.step(lr);
    step_ = s + 1;

    items_seen_ += items;
    window_loss_ += loss_value;
    window_steps_ += 1;
    window_items += items;
    // Before the evaluation and the checkpoint of this step, so both see what it does (an EMA).
    if (job_.after_step) job_.after_step(step_, *this);
    const double window_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
    if (window_seconds > 0) items_per_second = static_cast<double>(window_items) / window_seconds;

    if (log && (s % config_.log_interval == 0 || step_ == config_.steps)) {
      nlohmann::json row = {{"step", s}, {"train_loss", loss_value}, {"lr", lr}, {"grad_norm", grad_norm}, {speed_key, items_per_second}};
      for (size_t g = 0; g < group_norms.size(); ++g) row["grad_norm_" + job_.clip_group_names[g]] = group_norms[g];
      if (group_) {  // the gradient all-reduce's share of the steps since the last row
        const double steps = static_cast<double>(std::max<int64_t>(1, step_ - logged_step));
        if (!group_->overlapping()) row["allreduce_ms"] = 1e3 * (group_->reduce_seconds() - logged_seconds) / steps;
        row["allreduce_bytes"] = static_cast<double>(group_->reduced_bytes() - logged_bytes) / steps;
        row["ranks"] = shard.count;
        logged_step = step_, logged_seconds = group_->reduce_seconds(), logged_bytes = group_->reduced_bytes();
      }
      log->write(row);
    }
    const bool eval_now = step_ % config_.eval_interval == 0 || step_ == config_.steps;
    if (eval_now) {
      nlohmann::json row = job_.evaluate ? job_.evaluate() : nlohmann::json::object();
      if (job_.set_training) job_.set_training(true);
      summary.train_loss = window_loss_ / static_cast<double>(std::max<int64_t>(1, window_steps_));
      summary.val_loss = number_or_nan(row, "val_loss");
      summary.val_accuracy = number_or_nan(row, "val_accuracy");
      row["step"] = s;
      row["train_loss_mean"] = summary.train_loss;
      if (log) log->write(row);
      seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      window_loss_ = 0;
      window_steps_ = 0;
      save(ckpt);
      window_items = 0;
      window_start = std::chrono::steady_clock::now();
    }
    if (!eval_now && (step_ == stop_after || stopping)) {
      seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - window_start).count();
      save(ckpt);
      window_start = std::chrono::steady_clock::now();
    }
    if (stopping && !primary) break;  // rank 0 reports the stop and where the checkpoint is
    if (stopping)
      throw Error(std::string(stop.name()) + " after step " + std::to_string(step_) + "; checkpoint saved" +
                  (job_.resume_command.empty() ? " in " + run_dir_ : ", continue with " + job_.resume_command));
    bool reached = eval_now && config_.stop_accuracy > 0 && summary.val_accuracy >= config_.stop_accuracy;
    if (group_ && eval_now && config_.stop_accuracy > 0) reached = group_->sum({reached ? 1.0 : 0.0})[0] > 0;  // decided together
    if (step_ == stop_after || reached) break;
    if (show_progress_) {
      char fields[160];
      char val[48] = "-";
      if (std::isfinite(summary.val_loss)) std::snprintf(val, sizeof val, "%.4f", summary.val_loss);
      if (std::isfinite(summary.val_accuracy))
        std::snprintf(val + std::strlen(val), sizeof val - std::strlen(val), " (acc %.3f)", summary.val_accuracy);
      std::snprintf(fields, sizeof fields, "loss %.4f | val %s | %s %s/s", loss_value, val,
                    human_count(items_per_second).c_str(), job_.items == "tokens" ? "tok" : job_.items.c_str());
      progress.update(step_, fields);
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
  if (show_progress_) {
    char fields[160];
    std::snprintf(fields, sizeof fields, "train %.4f | val %.4f | %s %s/s", summary.train_loss, summary.val_loss,
                  human_count(items_per_second).c_str(), job_.items == "tokens" ? "tok" : job_.items.c_str());
    progress.finish(fields);
  }
  if (primary) plot_losses(run_dir_, job_.loss_name);
  summary.steps = step_;
  summary.tokens_per_second = items_per_second;
  summary.seconds = wall;
  const double steps_run = static_cast<double>(std::max<int64_t>(1, step_ - first_step));
  summary.step_ms = 1e3 * wall / steps_run;
  if (group_) {
    summary.ranks = shard.count;
    summary.allreduce_ms = group_->overlapping() ? std::nan("") : 1e3 * group_->reduce_seconds() / steps_run;
    summary.allreduce_bytes = static_cast<double>(group_->reduced_bytes()) / steps_run;
  }
  return summary;
}

}  // namespace engram
