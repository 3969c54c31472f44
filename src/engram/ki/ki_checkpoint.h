// KI checkpoints: the trainer's safetensors files with the run's config under "engram.ki_config"
// ("kind": "ki-backbone" from stage 0, "ki-policy" from a recipe). A policy checkpoint also carries
// "engram.policy_config" (model type "ki", the task, the FAST tokenizer), so `engram policy eval`
// and `engram policy run` open it like a mixer checkpoint; they evaluate its EMA weights.
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "engram/core/safetensors.h"
#include "engram/ki/ki_model.h"

namespace engram::ki {

inline const char* const kKiConfigKey = "engram.ki_config";

// The checkpoint's KI config; throws naming the file when it is not a KI checkpoint of `kind`.
nlohmann::json read_ki_config(const SafeTensors& file, const std::string& kind);

// Copies every model tensor whose name starts with `prefix` from `file` (under `file_prefix` +
// its name); a missing tensor, another shape or a non-finite value is an Error naming it.
void load_ki_tensors(KiModel& model, const SafeTensors& file, const std::string& prefix, const std::string& file_prefix = "");

// A recipe's network as its policy config describes it, freshly initialised.
std::shared_ptr<KiModel> ki_model_of(const nlohmann::json& policy_config);

// A recipe's network from a policy checkpoint, with its EMA weights.
std::shared_ptr<KiModel> load_ki_model(const SafeTensors& file, const nlohmann::json& policy_config);

}  // namespace engram::ki
