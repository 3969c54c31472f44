#include "engram/ki/ki_checkpoint.h"

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/core/finite.h"
#include "engram/core/json.h"

namespace engram::ki {

nlohmann::json read_ki_config(const SafeTensors& file, const std::string& kind) {
  if (!file.metadata.count(kKiConfigKey))
    throw Error(file.source + " is not a KI checkpoint (no " + std::string(kKiConfigKey) + "); expected one from " +
                (kind == "ki-backbone" ? "engram ki pretrain" : "engram ki train"));
  auto config = parse_json(file.metadata.at(kKiConfigKey), file.source + ": KI config");
  if (config.value("kind", std::string()) != kind)
    throw Error(file.source + " is a " + config.value("kind", std::string("?")) + " checkpoint, not a " + kind + " one");
  return config;
}

void load_ki_tensors(KiModel& model, const SafeTensors& file, const std::string& prefix, const std::string& file_prefix) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.named_parameters()) {
    if (p.key().rfind(prefix, 0) != 0) continue;
    const std::string name = file_prefix + p.key();
    if (!file.contains(name)) throw Error(file.source + ": tensor '" + name + "' is missing (a checkpoint of another model?)");
    const auto& saved = file.at(name);
    if (saved.sizes() != p.value().sizes())
      throw Error(file.source + ": tensor '" + name + "' has shape " + c10::str(saved.sizes()) + ", the model needs " +
                  c10::str(p.value().sizes()));
    require_finite(saved, file.source + ": tensor '" + name + "'");
    p.value().copy_(saved);
  }
}

std::shared_ptr<KiModel> ki_model_of(const nlohmann::json& policy_config) {
  auto model_json = policy_config.at("model");
  model_json.erase("type");
  return std::make_shared<KiModel>(read_config<KiModelConfig>(model_json, "model"));
}

std::shared_ptr<KiModel> load_ki_model(const SafeTensors& file, const nlohmann::json& policy_config) {
  auto model = ki_model_of(policy_config);
  load_ki_tensors(*model, file, "", "ema.");
  model->eval();
  return model;
}

}  // namespace engram::ki
