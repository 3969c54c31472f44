#include "engram/train/experiment.h"

#include <cstdio>
#include <filesystem>

#include "engram/core/atomic_file.h"
#include "engram/core/config.h"
#include "engram/core/device.h"
#include "engram/core/error.h"
#include "engram/core/seed.h"
#include "engram/data/shards.h"
#include "engram/distributed/collective.h"
#include "engram/seq/model.h"
#include "engram/tasks/task.h"

namespace engram {
namespace fs = std::filesystem;

ExperimentConfig ExperimentConfig::from_json(const nlohmann::json& j) {
  ConfigObject c(j, "");
  ExperimentConfig e;
  e.model = c.object("model");
  e.train = TrainConfig::from_json(c.object("train"), "train");
  if (c.has("task")) {
    if (c.has("data")) throw Error("config: give either 'data' (text) or 'task' (synthetic), not both");
    e.task = c.object("task");
  } else {
    e.data = DataConfig::from_json(c.object("data"), "data");
  }
  c.finish();
  return e;
}

nlohmann::json ExperimentConfig::to_json() const {
  nlohmann::json j = {{"model", model}, {"train", train.to_json()}};
  if (task.is_null()) j["data"] = data.to_json();
  else j["task"] = task;
  return j;
}

nlohmann::json load_config(const std::string& path, const std::vector<std::string>& overrides) {
  nlohmann::json j = path.empty() ? nlohmann::json::object() : read_config_file(path);
  if (!j.is_object()) throw Error("config file " + path + ": expected a JSON object at the top level");
  for (const auto& o : overrides) apply_override(j, o);
  return j;
}

TrainSummary run_experiment(const nlohmann::json& config, const std::string& run_dir, const RunOptions& options) {
  const std::string ckpt = run_dir + "/checkpoint.safetensors";
  nlohmann::json resolved = config;
  // Under torchrun with restarts, a restarted group goes on from the last checkpoint by itself.
  const bool restarted = world_from_environment().restart_count > 0 && fs::exists(ckpt);
  if (options.resume || restarted) {
    if (!fs::exists(ckpt)) throw Error("cannot resume: " + ckpt + " does not exist");
    resolved = read_json_file(run_dir + "/config.json");
    merge_json(resolved, config);
  } else if (fs::exists(ckpt)) {
    throw Error("run directory " + run_dir + " already holds a run; use --resume " + run_dir +
                " to continue it, or choose another --out");
  }
  ExperimentConfig exp = ExperimentConfig::from_json(resolved);
  const torch::Device device = parse_device(exp.train.device);
  std::shared_ptr<Task> task;
  if (!exp.task.is_null()) {
    task = make_task(exp.task, "task");
    exp.task = task->config();
    exp.train.block_size = task->sequence_length();
  }
  // Refuse a bad model config before any expensive work (tokenizer training, tokenizing). The
  // vocabulary may come from the tokenizer, so a placeholder stands in for it here.
  {
    nlohmann::json probe = exp.model;
    if (!probe.contains("vocab_size")) probe["vocab_size"] = 256;
    if (!probe.contains("block_size")) probe["block_size"] = exp.train.block_size;
    const auto m = resolve_model_config(probe, "model");
    if (m.value("positions", std::string()) == "learned" && m["block_size"].get<int64_t>() < exp.train.block_size)
      throw Error("config train.block_size = " + std::to_string(exp.train.block_size) +
                  " exceeds model.block_size = " + m["block_size"].dump() + " (the reach of learned positions)");
  }
  if (exp.task.is_null()) check_data_sources(exp.data);
  // One rank of several (torchrun, Slurm, --nproc): rank 0 makes the run directory and prepares
  // the data while the others wait; then they read what it made.
  const auto group = join_group(resolved.dump());
  const bool primary = !group || group->world().primary();
  if (group && device.is_cuda())
    throw Error("distributed training here runs on CPUs (Gloo); train.device = cuda needs a CUDA LibTorch with NCCL");
  if (!primary) group->await_announcement("data");
  if (fs::exists(run_dir) && !fs::is_directory(run_dir))
    throw Error("run directory " + run_dir + " is a file; choose another --out");
  // From here on files are written. A failure before training starts removes a run directory
  // this command created, so a bad input leaves nothing behind.
  std::error_code ec;
  const bool created = fs::create_directories(run_dir, ec);  // false when it was there: then it is never removed
  if (ec) throw Error("cannot create run directory " + run_dir + ": " + ec.message());
  struct RemoveUnlessKept {
    std::string dir;
    bool keep;
    ~RemoveUnlessKept() {
      std::error_code ignored;
      if (!keep) fs::remove_all(dir, ignored);
    }
  } cleanup{run_dir, !created};

  const auto& t = exp.train;
  const uint64_t seed = static_cast<uint64_t>(t.seed);
  const uint64_t valid_seed = mix_seed(seed, 0xe7a1);  // a stream the training batches never touch
  BatchStream stream;
  std::string tokenizer_spec;
  int64_t vocab_size = 0;
  if (task) {
    vocab_size = task->vocab_size();
    stream.train = [=](int64_t step) {
      std::mt19937_64 rng(mix_seed(seed, static_cast<uint64_t>(step)));
      return task->sample(t.batch_size, rng).to(device);
    };
    stream.valid = [=](int64_t k) {
      std::mt19937_64 rng(mix_seed(valid_seed, static_cast<uint64_t>(k)));
      return task->sample_valid(t.batch_size, rng).to(device);
    };
  } else {
    PreparedData data = prepare_data(exp.data, run_dir, options.verbose && primary, options.resume || restarted);
    vocab_size = data.vocab_size;
    tokenizer_spec = data.tokenizer_spec;
    // The shards live as long as the trainer: BatchStream captures them.
    auto train_shard = std::make_shared<TokenShard>(data.train_shard);
    auto valid_shard = std::make_shared<TokenShard>(data.valid_shard);
    for (const auto& shard : {train_shard, valid_shard})
      if (shard->size() < t.block_size + 1)
        throw Error("token shard " + shard->path() + " holds " + std::to_string(shard->size()) +
                    " tokens, fewer than one window of train.block_size + 1 = " + std::to_string(t.block_size + 1) +
                    ": use more text or a smaller train.block_size");
    stream.train = [=](int64_t step) { return sample_batch(*train_shard, t.batch_size, t.block_size, seed, step).to(device); };
    stream.valid = [=](int64_t k) { return sample_batch(*valid_shard, t.batch_size, t.block_size, valid_seed, k).to(device); };
  }
  if (group && primary) group->announce("data");
  if (!exp.model.contains("vocab_size")) exp.model["vocab_size"] = vocab_size;
  if (exp.model["vocab_size"].is_number_integer() && exp.model["vocab_size"].get<int64_t>() < vocab_size)
    throw Error("config model.vocab_size = " + exp.model["vocab_size"].dump() + " is smaller than the " +
                std::to_string(vocab_size) + " tokens of the " + (task ? "task" : "tokenizer"));
  if (!exp.model.contains("block_size")) exp.model["block_size"] = t.block_size;

  seed_everything(seed);
  auto model = make_model(exp.model, "model");
  exp.model = model->config();
  model->to(device);

  if (options.verbose && primary)
    std::fprintf(stderr, "model: %s, %s parameters; run directory %s\n", model->describe().summary.c_str(),
                 std::to_string(model->describe().parameters).c_str(), run_dir.c_str());
  TrainingJob job = sequence_job(model, exp.train, stream, {exp.to_json(), nullptr, tokenizer_spec});
  job.resume_command = "engram train --resume " + run_dir;
  Trainer trainer(job, exp.train.loop(), run_dir, options.verbose && primary);
  trainer.distribute(group.get());
  // A resume that fails (a checkpoint that does not fit the changed config) must not save that config.
  if (options.resume || restarted) trainer.resume();
  if (!trainer.finished() && primary) write_text_atomically(run_dir + "/config.json", exp.to_json().dump(2) + "\n");
  cleanup.keep = true;
  TrainSummary summary = trainer.run(options.stop_after);
  const std::string score_path = run_dir + "/score.json";
  if (task && summary.already_finished && fs::exists(score_path)) {
    summary.task_score = read_json_file(score_path, "task score");
  } else if (task && primary && summary.steps == exp.train.steps) {
    summary.task_score = task->score(*model);
    if (!summary.task_score.empty()) write_text_atomically(score_path, summary.task_score.dump(2) + "\n");
  }
  return summary;
}

}  // namespace engram
