#include "engram/seq/model.h"

#include <set>

#include "engram/core/error.h"
#include "engram/seq/transformer.h"

namespace engram {

std::shared_ptr<SequenceModel> make_model(const nlohmann::json& config, const std::string& where) {
  if (!config.is_object()) throw Error("config " + where + ": expected a JSON object");
  const std::string type = config.value("type", std::string("transformer"));
  if (type == "transformer") return std::make_shared<Transformer>(TransformerConfig::from_json(config, where));
  throw Error("config " + where + ".type = \"" + type + "\" is not a known model (known: transformer)");
}

int64_t count_parameters(torch::nn::Module& module) {
  std::set<const void*> seen;
  int64_t n = 0;
  for (const auto& p : module.parameters())
    if (seen.insert(p.data_ptr()).second) n += p.numel();
  return n;
}

}  // namespace engram
