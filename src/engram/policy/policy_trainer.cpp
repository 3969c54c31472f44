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
#include "engram/distributed/collective.h"
#include "engram/ki/ki_checkpoint.h"
#include "engram/ki/ki_policy.h"
#include "engram/core/safetensors.h"
#include "engram/policy/chunk_dataset.h"
#include "engram/train/checkpoint.h"
#include "engram/train/trainer.h"

namespace engram {

PolicyTrainConfig PolicyTrainConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  PolicyTrainConfig t;
  t.fields(c);
  c.finish();
  if (t.data.empty()) throw Error("config " + c.path("data") + " is required: the demonstration dataset (.h5)");
  return t;
}

nlohmann::json PolicyTrainConfig::to_json() const { return write_config(*this); }

namespace {

namespace fs = std::filesystem;

torch::Generator generator(uint64_t seed) { return at::detail::createCPUGenerator(seed); }

// The flow-matching loss at noise `eps` [B, H, M] and times `tau` [B].
torch::Tensor flow_loss(MixerPolicy& policy, const torch::Tensor& obs, const torch::Tensor& chunks, const torch::Tensor& eps,
                        const torch::Tensor& tau) {
  const auto t = tau.view({chunks.size(0), 1, 1});
  auto x = (1 - t) * eps + t * chunks;
  return (policy.velocity(x, obs, tau) - (chunks - eps)).pow(2).mean();
}

// The noise and times of a batch of B chunks, drawn in this order from `gen`.
std::pair<torch::Tensor, torch::Tensor> flow_noise(const torch::Tensor& chunks, torch::Generator& gen) {
  auto eps = torch::randn(chunks.sizes(), gen, torch::kFloat32);
  auto tau = torch::rand({chunks.size(0)}, gen, torch::kFloat32);
  return {eps, tau};
}

void load_weights(MixerPolicy& policy, const SafeTensors& file) {
  torch::NoGradGuard guard;
  for (auto& [name, t] : module_tensors(policy)) {
    if (!file.contains(name)) throw Error(file.source + ": tensor '" + name + "' is missing (checkpoint of another policy?)");
    const auto& saved = file.at(name);
    if (saved.sizes() != t.sizes())
      throw Error(file.source + ": tensor '" + name + "' has shape " + c10::str(saved.sizes()) + ", the config gives " +
                  c10::str(t.sizes()));
    require_finite(saved, file.source + ": tensor '" + name + "'");
    t.copy_(saved);
  }
}

// Epochs without replacement (spec §2.1): a fresh permutation per epoch, cut into batches. The
// batch of a step is a function of (seed, step) alone, so resuming replays the same stream.
struct EpochBatches {
  int64_t samples = 0, batch_size = 1;
  uint64_t seed = 0;
  torch::Tensor perm;
  int64_t perm_epoch = -1;

  torch::Tensor indices(int64_t step) {
    const int64_t per_epoch = std::max<int64_t>(1, samples / batch_size), epoch = step / per_epoch;
    if (epoch != perm_epoch) {
      auto pg = generator(seed * 7919ull + static_cast<uint64_t>(epoch) + 0x5EED);
      perm = torch::randperm(samples, pg, torch::kLong);
      perm_epoch = epoch;
    }
    const int64_t offset = (step % per_epoch) * batch_size;
    return perm.slice(0, offset, std::min(samples, offset + batch_size));
  }
};

}  // namespace

LoadedPolicy load_policy(const std::string& checkpoint) {
  auto file = load_safetensors(checkpoint);
  read_legacy_layout(file);
  if (!file.metadata.count("engram.policy_config")) throw Error(checkpoint + " is not an engram policy checkpoint");
  LoadedPolicy out;
  out.config = parse_json(file.metadata.at("engram.policy_config"), checkpoint + ": policy config");
  if (!file.metadata.count("engram.train_state")) throw Error(checkpoint + " has no training step in its metadata (corrupt?)");
  out.step = parse_json(file.metadata.at("engram.train_state"), checkpoint + ": training state").value("step", int64_t{0});
  if (out.config["model"].value("type", std::string()) == "ki") {
    auto model = ki::load_ki_model(file, out.config);
    out.module = model;
    out.policy = std::make_shared<ki::KiPolicy>(model);
    return out;
  }
  auto mixer = std::make_shared<MixerPolicy>(MixerPolicyConfig::from_json(out.config["model"], "model"));
  load_weights(*mixer, file);
  mixer->eval();
  out.policy = mixer;
  out.module = mixer;
  return out;
}

std::string weak_checkpoint_beside(const std::string& checkpoint) {
  return fs::path(checkpoint).replace_filename("weak.safetensors").string();
}

TrainSummary train_policy(const nlohmann::json& config_in, const PolicyRunOptions& o) {
  nlohmann::json config = config_in;
  // Under torchrun with restarts, a restarted group goes on from the last checkpoint by itself.
  const bool resume = o.resume || (world_from_environment().restart_count > 0 && fs::exists(o.out + "/checkpoint.safetensors"));
  if (resume) {  // the run's own config (less the dataset's env section, derived again) under the overrides
    const std::string saved = o.out + "/config.json";
    if (!fs::exists(saved)) throw Error("cannot resume: " + saved + " does not exist");
    config = read_json_file(saved, "run config");
    config.erase("env");
    merge_json(config, config_in);
  }
  ConfigObject top(config, "");
  const auto train = PolicyTrainConfig::from_json(top.object("train"), "train");
  auto model_json = top.object("model");
  top.finish();

  auto data = std::make_shared<ChunkDataset>(), valid = std::make_shared<ChunkDataset>();
  auto horizon_json = model_json.value("horizon", nlohmann::json(8));
  if (!horizon_json.is_number_integer() || horizon_json.get<int64_t>() < 1) throw Error("config model.horizon must be a positive integer");
  load_chunk_dataset(train.data, horizon_json.get<int64_t>(), train.holdout_every, *data, *valid);
  model_json["obs_dim"] = data->env_args["obs_dim"];
  model_json["action_dim"] = data->env_args["action_dim"];
  const auto model_config = MixerPolicyConfig::from_json(model_json, "model");
  config = {{"model", model_config.to_json()}, {"train", train.to_json()}, {"env", data->env_args}};

  const std::string ckpt = o.out + "/checkpoint.safetensors";
  if (resume && !fs::exists(ckpt)) throw Error("cannot resume: " + ckpt + " does not exist");
  if (!resume && fs::exists(ckpt))
    throw Error("run directory " + o.out + " already holds a policy; use --resume " + o.out + " to continue it, or choose another --out");
  // One rank of several (torchrun, Slurm, --nproc): rank 0 makes the run directory first.
  const auto group = join_group(config.dump());
  const bool primary = !group || group->world().primary();
  if (!primary) group->await_announcement("run directory");
  fs::create_directories(o.out);
  if (group && primary) group->announce("run directory");
  torch::manual_seed(static_cast<uint64_t>(train.seed));
  auto policy = std::make_shared<MixerPolicy>(model_config);
  // Standardise observations with the training data's statistics (a harmless deviation, spec §12.3).
  policy->set_observation_stats(data->obs.mean(0), data->obs.std(0).clamp_min(1e-3));

  TrainingJob job;
  for (const auto& p : policy->named_parameters()) job.parameters.emplace_back(p.key(), p.value());
  job.weights = [policy] { return module_tensors(*policy); };
  job.load = [policy, model = config["model"]](const SafeTensors& file) {
    const auto saved = file.metadata.count("engram.policy_config")
                           ? parse_json(file.metadata.at("engram.policy_config"), file.source + ": policy config")
                           : nlohmann::json();
    if (!saved.is_object() || saved.value("model", nlohmann::json()) != model)
      throw Error(file.source + ": the model config differs from this run's; resume with the same config");
    load_weights(*policy, file);
  };
  auto batches = std::make_shared<EpochBatches>();
  batches->samples = data->obs.size(0);
  batches->batch_size = train.batch_size;
  batches->seed = static_cast<uint64_t>(train.seed);
  job.loss = [policy, data, batches, seed = static_cast<uint64_t>(train.seed)](int64_t step, const Shard& shard) {
    // Every random draw of a step comes from (seed, step), for the whole batch: resuming replays
    // the same stream, and any number of ranks shares out the same batch.
    auto gen = generator(seed * 1000003ull + static_cast<uint64_t>(step));
    const auto idx = batches->indices(step);
    const auto chunks = data->chunks.index_select(0, idx);
    const auto [eps, tau] = flow_noise(chunks, gen);
    const auto obs = shard.rows(data->obs.index_select(0, idx));
    return TrainingJob::StepLoss{flow_loss(*policy, obs, shard.rows(chunks), shard.rows(eps), shard.rows(tau)), obs.size(0)};
  };
  job.items = "samples";
  job.loss_name = "flow-matching loss (velocity MSE)";
  if (valid->obs.size(0) > 0) {
    job.evaluate = [policy, valid] {
      torch::NoGradGuard ng;
      auto vgen = generator(12345);
      const int64_t n = std::min<int64_t>(valid->obs.size(0), 4096);
      return nlohmann::json{
          {"val_loss", [&] {
            const auto chunks = valid->chunks.slice(0, 0, n);
            const auto [eps, tau] = flow_noise(chunks, vgen);
            return flow_loss(*policy, valid->obs.slice(0, 0, n), chunks, eps, tau).item<double>();
          }()}};
    };
  }
  job.metadata = {{"engram.policy_config", config.dump()}};
  job.resume_command = "engram policy train --resume " + o.out;
  job.after_step = [weak = train.weak_step, path = o.out + "/weak.safetensors"](int64_t done, const Trainer& t) {
    if (done == weak) t.save(path);
  };

  LoopConfig loop;
  loop.steps = train.steps;
  loop.lr = train.lr;
  loop.warmup = train.warmup;
  loop.schedule = Schedule::kWarmupConstant;
  loop.adam.beta1 = 0.9;
  loop.adam.beta2 = 0.999;
  loop.adam.weight_decay = train.weight_decay;
  loop.adam.decay_all = true;  // the paper's code decays every parameter
  loop.grad_clip = train.grad_clip;
  loop.eval_interval = train.eval_interval;
  loop.log_interval = train.log_interval;
  Trainer trainer(job, loop, o.out, o.verbose && primary, "policy");
  trainer.distribute(group.get());
  // As for `engram train`: the config is saved once the checkpoint has loaded, so a later plain
  // --resume continues with the same overrides (a raised train.steps, say).
  if (resume) trainer.resume();
  if (!trainer.finished() && primary) write_text_atomically(o.out + "/config.json", config.dump(2) + "\n");
  return trainer.run(o.stop_after);
}

}  // namespace engram
