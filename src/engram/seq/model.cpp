#include "engram/seq/model.h"

#include <set>

#include "engram/core/error.h"
#include "engram/seq/atlas.h"
#include "engram/seq/lstm.h"
#include "engram/seq/mosaic.h"
#include "engram/seq/transformer.h"

namespace engram {

namespace {
std::string model_type(const nlohmann::json& config, const std::string& where) {
  if (!config.is_object()) throw Error("config " + where + ": expected a JSON object");
  const auto it = config.find("type");
  if (it != config.end() && !it->is_string()) throw Error("config " + where + ".type: expected a string");
  const std::string type = it == config.end() ? "transformer" : it->get<std::string>();
  if (type != "transformer" && type != "mosaic" && type != "lstm" && type != "atlas")
    throw Error("config " + where + ".type = \"" + type + "\" is not a known model (known: transformer, mosaic, lstm, atlas)");
  return type;
}
}  // namespace

std::shared_ptr<SequenceModel> make_model(const nlohmann::json& config, const std::string& where) {
  const std::string type = model_type(config, where);
  if (type == "mosaic") return std::make_shared<MemoryMosaic>(MosaicConfig::from_json(config, where));
  if (type == "lstm") return std::make_shared<Lstm>(LstmConfig::from_json(config, where));
  if (type == "atlas") return std::make_shared<Atlas>(AtlasConfig::from_json(config, where));
  return std::make_shared<Transformer>(TransformerConfig::from_json(config, where));
}

nlohmann::json resolve_model_config(const nlohmann::json& config, const std::string& where) {
  const std::string type = model_type(config, where);
  if (type == "mosaic") return MosaicConfig::from_json(config, where).to_json();
  if (type == "lstm") return LstmConfig::from_json(config, where).to_json();
  if (type == "atlas") return AtlasConfig::from_json(config, where).to_json();
  return TransformerConfig::from_json(config, where).to_json();
}

int64_t count_parameters(torch::nn::Module& module) {
  std::set<const void*> seen;
  int64_t n = 0;
  for (const auto& p : module.parameters())
    if (seen.insert(p.data_ptr()).second) n += p.numel();
  return n;
}

}  // namespace engram
