#include "engram/train/experiment.h"

#include <cstdio>
#include <filesystem>

#include "engram/core/atomic_file.h"
#include "engram/core/config.h"
#include "engram/core/device.h"
#include "engram/core/error.h"
#include "engram/core/seed.h"
#include "engram/seq/model.h"

namespace engram {
namespace fs = std::filesystem;

ExperimentConfig ExperimentConfig::from_json(const nlohmann::json& j) {
  ConfigObject c(j, "");
  ExperimentConfig e;
  e.model = c.object("model");
  e.train = TrainConfig::from_json(c.object("train"), "train");
  e.data = DataConfig::from_json(c.object("data"), "data");
  c.finish();
  return e;
}

nlohmann::json ExperimentConfig::to_json() const {
  return {{"model", model}, {"train", train.to_json()}, {"data", data.to_json()}};
}

nlohmann::json load_config(const std::string& path, const std::vector<std::string>& overrides) {
  nlohmann::json j = path.empty() ? nlohmann::json::object() : read_json_file(path);
  if (!j.is_object()) throw Error("config file " + path + ": expected a JSON object at the top level");
  for (const auto& o : overrides) apply_override(j, o);
  return j;
}

namespace {
// Recursively overlays `top` on `base`.
void merge_into(nlohmann::json& base, const nlohmann::json& top) {
  for (const auto& item : top.items()) {
    if (item.value().is_object() && base.contains(item.key()) && base[item.key()].is_object())
      merge_into(base[item.key()], item.value());
    else
      base[item.key()] = item.value();
  }
}
}  // namespace

TrainSummary run_experiment(const nlohmann::json& config, const std::string& run_dir, const RunOptions& options) {
  const std::string ckpt = run_dir + "/checkpoint.safetensors";
  nlohmann::json resolved = config;
  if (options.resume) {
    if (!fs::exists(ckpt)) throw Error("cannot resume: " + ckpt + " does not exist");
    resolved = read_json_file(run_dir + "/config.json");
    merge_into(resolved, config);
  } else if (fs::exists(ckpt)) {
    throw Error("run directory " + run_dir + " already holds a run; use --resume " + run_dir +
                " to continue it, or choose another --out");
  }
  ExperimentConfig exp = ExperimentConfig::from_json(resolved);
  const torch::Device device = parse_device(exp.train.device);
  // Refuse a bad model config before any expensive work (tokenizer training, tokenizing). The
  // vocabulary comes from the tokenizer, so a placeholder stands in for it here.
  {
    nlohmann::json probe = exp.model;
    if (!probe.contains("vocab_size")) probe["vocab_size"] = 256;
    if (!probe.contains("block_size")) probe["block_size"] = exp.train.block_size;
    const auto m = resolve_model_config(probe, "model");
    if (m.value("positions", std::string()) == "learned" && m["block_size"].get<int64_t>() < exp.train.block_size)
      throw Error("config train.block_size = " + std::to_string(exp.train.block_size) +
                  " exceeds model.block_size = " + m["block_size"].dump() + " (the reach of learned positions)");
  }
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  if (ec) throw Error("cannot create run directory " + run_dir + ": " + ec.message());

  PreparedData data = prepare_data(exp.data, run_dir, options.verbose);
  if (!exp.model.contains("vocab_size")) exp.model["vocab_size"] = data.vocab_size;
  if (exp.model["vocab_size"].is_number_integer() && exp.model["vocab_size"].get<int64_t>() < data.vocab_size)
    throw Error("config model.vocab_size = " + exp.model["vocab_size"].dump() + " is smaller than the tokenizer's " +
                std::to_string(data.vocab_size) + " tokens");
  if (!exp.model.contains("block_size")) exp.model["block_size"] = exp.train.block_size;
  // The shards live as long as the trainer: BatchStream captures them.
  auto train_shard = std::make_shared<TokenShard>(data.train_shard);
  auto valid_shard = std::make_shared<TokenShard>(data.valid_shard);
  for (const auto& shard : {train_shard, valid_shard})
    if (shard->size() < exp.train.block_size + 1)
      throw Error("token shard " + shard->path() + " holds " + std::to_string(shard->size()) +
                  " tokens, fewer than one window of train.block_size + 1 = " + std::to_string(exp.train.block_size + 1) +
                  ": use more text or a smaller train.block_size");

  seed_everything(static_cast<uint64_t>(exp.train.seed));
  auto model = make_model(exp.model, "model");
  exp.model = model->config();
  model->to(device);
  write_text_atomically(run_dir + "/config.json", exp.to_json().dump(2) + "\n");

  const auto& t = exp.train;
  const uint64_t seed = static_cast<uint64_t>(t.seed);
  BatchStream stream;
  stream.train = [=](int64_t step) {
    Batch b = sample_batch(*train_shard, t.batch_size, t.block_size, seed, step);
    return Batch{b.inputs.to(device), b.targets.to(device), {}};
  };
  stream.valid = [=](int64_t k) {
    Batch b = sample_batch(*valid_shard, t.batch_size, t.block_size, mix_seed(seed, 0xe7a1), k);
    return Batch{b.inputs.to(device), b.targets.to(device), {}};
  };

  if (options.verbose)
    std::fprintf(stderr, "model: %s, %s parameters; run directory %s\n", model->describe().summary.c_str(),
                 std::to_string(model->describe().parameters).c_str(), run_dir.c_str());
  Trainer trainer(model, exp.train, stream, run_dir, {exp.to_json(), nullptr, data.tokenizer_spec}, options.verbose);
  if (options.resume) trainer.resume();
  return trainer.run(options.stop_after);
}

}  // namespace engram
