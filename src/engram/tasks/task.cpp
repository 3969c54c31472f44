#include "engram/tasks/task.h"

#include <cmath>

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/tasks/induction.h"
#include "engram/tasks/mqar.h"
#include "engram/tasks/niah.h"
#include "engram/tasks/regbench_task.h"

namespace engram {

double masked_accuracy(const torch::Tensor& logits, const Batch& batch) {
  if (!batch.score_mask.defined()) return std::nan("");
  auto correct = logits.argmax(-1).eq(batch.targets).logical_and(batch.score_mask);
  const double n = batch.score_mask.sum().item<double>();
  return n > 0 ? correct.sum().item<double>() / n : std::nan("");
}

std::unique_ptr<Task> make_task(const nlohmann::json& config, const std::string& where) {
  if (!config.is_object() || !config.contains("name") || !config["name"].is_string())
    throw Error("config " + where + ".name is required (known tasks: induction, regbench, mqar, niah)");
  const std::string name = config["name"].get<std::string>();
  if (name == "induction") return std::make_unique<InductionTask>(InductionConfig::from_json(config, where));
  if (name == "mqar") return std::make_unique<MqarTask>(MqarConfig::from_json(config, where));
  if (name == "niah") return std::make_unique<NiahTask>(NiahConfig::from_json(config, where));
  if (name == "regbench") return std::make_unique<RegBenchTask>(RegBenchTaskConfig::from_json(config, where));
  throw Error("config " + where + ".name = \"" + name + "\" is not a known task (known: induction, regbench, mqar, niah)");
}

}  // namespace engram
