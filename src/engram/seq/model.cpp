#include "engram/seq/model.h"

#include <set>

#include "engram/core/error.h"
#include "engram/seq/atlas.h"
#include "engram/seq/lstm.h"
#include "engram/seq/mosaic.h"
#include "engram/seq/transformer.h"

namespace engram {

namespace {
// One row per model type: adding a model is one line here.
struct ModelType {
  const char* name;
  std::shared_ptr<SequenceModel> (*make)(const nlohmann::json&, const std::string&);
  nlohmann::json (*resolve)(const nlohmann::json&, const std::string&);
};

template <class Model, class Config>
ModelType entry(const char* name) {
  return {name, [](const nlohmann::json& c, const std::string& w) -> std::shared_ptr<SequenceModel> {
            return std::make_shared<Model>(Config::from_json(c, w));
          },
          [](const nlohmann::json& c, const std::string& w) { return Config::from_json(c, w).to_json(); }};
}

const std::vector<ModelType>& model_types() {
  static const std::vector<ModelType> types = {entry<Transformer, TransformerConfig>("transformer"),
                                               entry<MemoryMosaic, MosaicConfig>("mosaic"),
                                               entry<Lstm, LstmConfig>("lstm"), entry<Atlas, AtlasConfig>("atlas")};
  return types;
}

const ModelType& model_type(const nlohmann::json& config, const std::string& where) {
  if (!config.is_object()) throw Error("config " + where + ": expected a JSON object");
  const auto it = config.find("type");
  if (it != config.end() && !it->is_string()) throw Error("config " + where + ".type: expected a string");
  const std::string type = it == config.end() ? "transformer" : it->get<std::string>();
  std::string known;
  for (const auto& t : model_types()) {
    if (type == t.name) return t;
    known += (known.empty() ? "" : ", ") + std::string(t.name);
  }
  throw Error("config " + where + ".type = \"" + type + "\" is not a known model (known: " + known + ")");
}
}  // namespace

std::shared_ptr<SequenceModel> make_model(const nlohmann::json& config, const std::string& where) {
  return model_type(config, where).make(config, where);
}

nlohmann::json resolve_model_config(const nlohmann::json& config, const std::string& where) {
  return model_type(config, where).resolve(config, where);
}

torch::Tensor SequenceModel::logits(const torch::Tensor& h) const {
  const OutputHead o = head();
  auto out = torch::matmul(h, o.weight.t());
  return o.scale == 1.0 ? out : out * o.scale;
}

int64_t count_parameters(torch::nn::Module& module) {
  std::set<const void*> seen;
  int64_t n = 0;
  for (const auto& p : module.parameters())
    if (seen.insert(p.data_ptr()).second) n += p.numel();
  return n;
}

}  // namespace engram
