#include "engram/train/checkpoint.h"

#include <map>

#include "engram/core/error.h"
#include "engram/core/finite.h"
#include "engram/core/json.h"
#include "engram/data/corpus.h"

namespace engram {
namespace {
const char* kOptimizer = "optimizer.";
const char* kRng = "rng.";

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> module_tensors(torch::nn::Module& module) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : module.named_parameters()) out.emplace_back(p.key(), p.value());
  for (const auto& b : module.named_buffers()) out.emplace_back(b.key(), b.value());
  return out;
}

std::map<std::string, std::string> checkpoint_metadata(SequenceModel& model, const CheckpointContents& contents) {
  std::map<std::string, std::string> meta{{"format", "pt"}, {"engram.model", model.config().dump()}};
  if (!contents.experiment.is_null()) meta["engram.config"] = contents.experiment.dump();
  if (!contents.tokenizer.empty()) meta["engram.tokenizer"] = contents.tokenizer;
  return meta;
}

void save_checkpoint(const std::string& path, SequenceModel& model, const CheckpointContents& contents) {
  save_safetensors(path, module_tensors(model), checkpoint_metadata(model, contents));
}

void load_weights(SequenceModel& model, const SafeTensors& file) {
  torch::NoGradGuard no_grad;
  std::map<std::string, torch::Tensor> expected;
  for (const auto& [name, t] : module_tensors(model)) expected[name] = t;
  const std::string where = "checkpoint " + file.source;
  for (const auto& [name, t] : file.tensors) {
    if (starts_with(name, kOptimizer) || starts_with(name, kRng)) continue;
    auto it = expected.find(name);
    if (it == expected.end())
      throw Error(where + ": tensor '" + name + "' does not exist in a " + model.describe().summary +
                  " (checkpoint of a different architecture?)");
    if (it->second.sizes() != t.sizes())
      throw Error(where + ": tensor '" + name + "' has shape " + c10::str(t.sizes()) + ", expected " +
                  c10::str(it->second.sizes()) + " (checkpoint of a different architecture?)");
    require_finite(t, where + ": tensor '" + name + "'");
    it->second.copy_(t);
  }
  for (const auto& [name, t] : expected)
    if (!file.contains(name)) throw Error(where + ": tensor '" + name + "' is missing (checkpoint of a different architecture?)");
}

LoadedCheckpoint load_checkpoint(const std::string& path) {
  LoadedCheckpoint c;
  c.file = load_safetensors(path);
  auto meta = [&](const char* key) -> nlohmann::json {
    auto it = c.file.metadata.find(key);
    if (it == c.file.metadata.end()) return nullptr;
    return parse_json(it->second, "checkpoint " + path + ": metadata '" + key + "'");
  };
  const auto model_config = meta("engram.model");
  if (model_config.is_null())
    throw Error("checkpoint " + path + ": no 'engram.model' metadata; not an engram checkpoint (use engram import for others)");
  c.contents.experiment = meta("engram.config");
  c.contents.train_state = meta("engram.train_state");
  auto tok = c.file.metadata.find("engram.tokenizer");
  if (tok != c.file.metadata.end()) c.contents.tokenizer = tok->second;
  c.model = make_model(model_config, "checkpoint " + path + " model");
  load_weights(*c.model, c.file);
  return c;
}

Tokenizer open_tokenizer(const std::string& spec) {
  if (spec == "gpt2") return load_gpt2_tokenizer();
  if (spec.size() > 12 && spec.substr(spec.size() - 12) == ".safetensors") {
    const auto ckpt = load_checkpoint(spec);
    return tokenizer_from_spec(ckpt.contents.tokenizer, "checkpoint " + spec);
  }
  return Tokenizer::load(spec);
}

}  // namespace engram
