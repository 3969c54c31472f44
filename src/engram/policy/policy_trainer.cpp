#include "engram/policy/policy_trainer.h"

#include <cmath>
#include <filesystem>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "engram/core/atomic_file.h"
#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/finite.h"
#include "engram/core/json.h"
#include "engram/core/metrics.h"
#include "engram/core/progress.h"
#include "engram/core/safetensors.h"
#include "engram/core/stop_signal.h"
#include "engram/policy/chunk_dataset.h"
#include "engram/train/adamw.h"

namespace engram {

PolicyTrainConfig PolicyTrainConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigObject c(j, where);
  PolicyTrainConfig t;
  t.data = c.string("data", t.data);
  t.steps = c.integer("steps", t.steps, 1, 100000000);
  t.batch_size = c.integer("batch_size", t.batch_size, 1, 1 << 20);
  t.lr = c.number("lr", t.lr, 0, 1);
  t.warmup = c.integer("warmup", t.warmup, 0, 100000000);
  t.weight_decay = c.number("weight_decay", t.weight_decay, 0, 10);
  t.grad_clip = c.number("grad_clip", t.grad_clip, 0, 1e9);
  t.holdout_every = c.integer("holdout_every", t.holdout_every, 0, 1 << 30);
  t.eval_interval = c.integer("eval_interval", t.eval_interval, 1, 100000000);
  t.weak_step = c.integer("weak_step", t.weak_step, 0, 100000000);
  t.log_interval = c.integer("log_interval", t.log_interval, 1, 100000000);
  t.seed = c.integer("seed", t.seed, 0, INT64_MAX);
  c.finish();
  if (t.data.empty()) throw Error("config " + c.path("data") + " is required: the demonstration dataset (.h5)");
  return t;
}

nlohmann::json PolicyTrainConfig::to_json() const {
  return {{"data", data}, {"steps", steps}, {"batch_size", batch_size}, {"lr", lr}, {"warmup", warmup},
          {"weight_decay", weight_decay}, {"grad_clip", grad_clip}, {"holdout_every", holdout_every},
          {"eval_interval", eval_interval}, {"weak_step", weak_step}, {"log_interval", log_interval}, {"seed", seed}};
}

namespace {

namespace fs = std::filesystem;

torch::Generator generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// The flow-matching loss of a batch; `gen` draws ε and τ.
torch::Tensor flow_loss(MixerPolicy& policy, const torch::Tensor& obs, const torch::Tensor& chunks, torch::Generator& gen) {
  const int64_t B = chunks.size(0);
  auto eps = torch::randn(chunks.sizes(), gen, torch::kFloat32);
  auto tau = torch::rand({B}, gen, torch::kFloat32);
  auto t = tau.view({B, 1, 1});
  auto x = (1 - t) * eps + t * chunks;
  return (policy.velocity(x, obs, tau) - (chunks - eps)).pow(2).mean();
}

// `window` is the running train-loss mean since the last log row ({sum, n}): state, so that a run
// stopped between rows logs the same mean after resuming.
void save(const std::string& path, MixerPolicy& policy, const AdamW& opt, const nlohmann::json& config, int64_t step,
          const nlohmann::json& window) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  for (const auto& p : policy.named_parameters()) tensors.emplace_back("model." + p.key(), p.value());
  for (const auto& b : policy.named_buffers()) tensors.emplace_back("model." + b.key(), b.value());
  for (auto& s : opt.state()) tensors.emplace_back("optim." + s.first, s.second);
  save_safetensors(path, tensors, {{"engram.policy_config", config.dump()}, {"engram.step", std::to_string(step)},
                                   {"engram.loss_window", window.dump()}});
}

void load_weights(MixerPolicy& policy, const SafeTensors& file) {
  torch::NoGradGuard guard;
  for (auto& p : policy.named_parameters()) {
    const auto& t = file.at("model." + p.key());
    if (t.sizes() != p.value().sizes())
      throw Error(file.source + ": model." + p.key() + " has shape " + c10::str(t.sizes()) + ", the config gives " +
                  c10::str(p.value().sizes()));
    require_finite(t, file.source + ": model." + p.key());
    p.value().copy_(t);
  }
  for (auto& b : policy.named_buffers()) b.value().copy_(file.at("model." + b.key()));
}

}  // namespace

LoadedPolicy load_policy(const std::string& checkpoint) {
  const auto file = load_safetensors(checkpoint);
  if (!file.metadata.count("engram.policy_config")) throw Error(checkpoint + " is not an engram policy checkpoint");
  LoadedPolicy out;
  out.config = parse_json(file.metadata.at("engram.policy_config"), checkpoint + ": policy config");
  if (!file.metadata.count("engram.step")) throw Error(checkpoint + " has no training step in its metadata (corrupt?)");
  out.step = std::stoll(file.metadata.at("engram.step"));
  out.policy = std::make_shared<MixerPolicy>(MixerPolicyConfig::from_json(out.config["model"], "model"));
  load_weights(*out.policy, file);
  out.policy->eval();
  return out;
}

PolicyTrainSummary train_policy(const nlohmann::json& config_in, const PolicyRunOptions& o) {
  nlohmann::json config = config_in;
  ConfigObject top(config, "");
  const auto train = PolicyTrainConfig::from_json(top.object("train"), "train");
  auto model_json = top.object("model");
  top.finish();

  ChunkDataset data, valid;
  auto horizon_json = model_json.value("horizon", nlohmann::json(8));
  if (!horizon_json.is_number_integer() || horizon_json.get<int64_t>() < 1) throw Error("config model.horizon must be a positive integer");
  load_chunk_dataset(train.data, horizon_json.get<int64_t>(), train.holdout_every, data, valid);
  model_json["obs_dim"] = data.env_args["obs_dim"];
  model_json["action_dim"] = data.env_args["action_dim"];
  const auto model_config = MixerPolicyConfig::from_json(model_json, "model");
  config = {{"model", model_config.to_json()}, {"train", train.to_json()}, {"env", data.env_args}};

  fs::create_directories(o.out);
  const std::string ckpt = o.out + "/checkpoint.safetensors";
  torch::manual_seed(static_cast<uint64_t>(train.seed));
  MixerPolicy policy(model_config);
  // Standardise observations with the training data's statistics (a harmless deviation, spec §12.3).
  policy.set_observation_stats(data.obs.mean(0), data.obs.std(0).clamp_min(1e-3));
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& p : policy.named_parameters()) named.emplace_back(p.key(), p.value());
  AdamWConfig ac;
  ac.beta1 = 0.9;
  ac.beta2 = 0.999;
  ac.weight_decay = train.weight_decay;
  ac.decay_all = true;  // the paper's code decays every parameter
  AdamW opt(named, ac);
  int64_t start = 0;
  double loss_sum = 0;
  int64_t loss_n = 0;
  if (o.resume) {
    const auto file = load_safetensors(ckpt);
    if (!file.metadata.count("engram.policy_config")) throw Error(ckpt + " is not an engram policy checkpoint");
    const auto saved = parse_json(file.metadata.at("engram.policy_config"), ckpt + ": policy config");
    if (saved["model"] != config["model"]) throw Error(ckpt + ": the model config differs from this run's; resume with the same config");
    load_weights(policy, file);
    std::vector<std::pair<std::string, torch::Tensor>> state;
    for (const auto& [name, t] : file.tensors)
      if (name.rfind("optim.", 0) == 0) state.emplace_back(name.substr(6), t);
    opt.load_state(state, ckpt);
    start = std::stoll(file.metadata.at("engram.step"));
    if (file.metadata.count("engram.loss_window")) {
      const auto w = parse_json(file.metadata.at("engram.loss_window"), ckpt + ": loss window");
      loss_sum = w.at("sum").get<double>();
      loss_n = w.at("n").get<int64_t>();
    }
    if (start > train.steps)
      throw Error("cannot set train.steps = " + std::to_string(train.steps) + ": run " + o.out + " has trained " +
                  std::to_string(start) + " steps already");
    if (start == train.steps) {
      PolicyTrainSummary done;
      done.steps = start;
      done.already_finished = true;
      for (const auto& r : read_metrics(o.out + "/metrics.jsonl")) {
        if (r.contains("train_loss_mean") && r["train_loss_mean"].is_number()) done.train_loss = r["train_loss_mean"];
        if (r.contains("val_loss") && r["val_loss"].is_number()) done.val_loss = r["val_loss"];
      }
      return done;
    }
  } else {
    write_text_atomically(o.out + "/config.json", config.dump(2) + "\n");
  }
  // A fresh run starts an empty log; a resumed one drops the rows logged after its checkpoint.
  MetricsLog metrics(o.out + "/metrics.jsonl", o.resume ? start : 0);
  const int64_t N = data.obs.size(0);
  Progress bar("policy", train.steps, start);
  PolicyTrainSummary summary;
  auto params = policy.parameters();
  torch::Tensor perm;
  int64_t perm_epoch = -1;
  StopSignal stop;
  for (int64_t step = start; step < train.steps; ++step) {
    // Every random draw of a step comes from (seed, step): resuming replays the same stream.
    auto gen = generator(static_cast<uint64_t>(train.seed) * 1000003ull + static_cast<uint64_t>(step));
    // Epochs without replacement (spec §2.1): a fresh permutation per epoch, cut into batches.
    const int64_t per_epoch = std::max<int64_t>(1, N / train.batch_size), epoch = step / per_epoch;
    if (epoch != perm_epoch) {
      auto pg = generator(static_cast<uint64_t>(train.seed) * 7919ull + static_cast<uint64_t>(epoch) + 0x5EED);
      perm = torch::randperm(N, pg, torch::kLong);
      perm_epoch = epoch;
    }
    const int64_t offset = (step % per_epoch) * train.batch_size;
    const auto idx = perm.slice(0, offset, std::min(N, offset + train.batch_size));
    auto loss = flow_loss(policy, data.obs.index_select(0, idx), data.chunks.index_select(0, idx), gen);
    const double l = loss.item<double>();
    if (!std::isfinite(l))
      throw Error("policy training diverged at step " + std::to_string(step) + " (loss " + std::to_string(l) + "); " +
                  (fs::exists(ckpt) ? "the last good checkpoint is kept at " + ckpt
                                    : "no checkpoint had been written yet (the first comes at step " +
                                          std::to_string(train.eval_interval) + ")"));
    opt.zero_grad();
    loss.backward();
    clip_grad_norm(params, train.grad_clip);
    // Linear warm-up from 0 (update k uses lr·min(k/warmup, 1)), then constant.
    opt.step(train.lr * (train.warmup > 0 ? std::min(1.0, static_cast<double>(step) / train.warmup) : 1.0));
    loss_sum += l;
    ++loss_n;
    const bool eval = (step + 1) % train.eval_interval == 0 || step + 1 == train.steps;
    if ((step + 1) % train.log_interval == 0 || eval) {
      nlohmann::json row = {{"step", step}, {"train_loss_mean", loss_sum / loss_n}};
      summary.train_loss = loss_sum / loss_n;
      if (eval && valid.obs.size(0) > 0) {
        torch::NoGradGuard ng;
        auto vgen = generator(12345);
        const int64_t n = std::min<int64_t>(valid.obs.size(0), 4096);
        summary.val_loss = flow_loss(policy, valid.obs.slice(0, 0, n), valid.chunks.slice(0, 0, n), vgen).item<double>();
        row["val_loss"] = summary.val_loss;
      }
      metrics.write(row);
      if (o.verbose) bar.update(step + 1, "loss " + std::to_string(loss_sum / loss_n).substr(0, 6));
      loss_sum = 0;
      loss_n = 0;
    }
    if (step + 1 == train.weak_step) save(o.out + "/weak.safetensors", policy, opt, config, step + 1, {{"sum", loss_sum}, {"n", loss_n}});
    if (eval || stop.requested()) save(ckpt, policy, opt, config, step + 1, {{"sum", loss_sum}, {"n", loss_n}});
    if (stop.requested())
      throw Error(std::string(stop.name()) + " after step " + std::to_string(step + 1) +
                  "; checkpoint saved, continue with engram policy train --resume " + o.out);
  }
  if (o.verbose) bar.finish("val loss " + std::to_string(summary.val_loss).substr(0, 6));
  summary.steps = train.steps;
  return summary;
}

}  // namespace engram
