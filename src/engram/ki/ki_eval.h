// What a KI run is judged by (KI spec §8.4, §8.5): rollouts on TableWorld's evaluation splits
// (success and follow rates), the backbone's language (held-out NLL, FactAcc), and the AR FAST
// decoder of recipe R2.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include <torch/types.h>

#include "engram/fast/action_tokenizer.h"
#include "engram/ki/ki_model.h"
#include "engram/ki/language_data.h"
#include "engram/policy/flow_policy.h"
#include "engram/tableworld/scene.h"
#include "engram/tableworld/vocabulary.h"

namespace engram::ki {

struct RolloutStats {
  int64_t episodes = 0, successes = 0, followed = 0;
  double success_rate() const { return episodes ? static_cast<double>(successes) / episodes : 0.0; }
  double follow_rate() const { return episodes ? static_cast<double>(followed) / episodes : 0.0; }
};

// A chunk of actions [B, H, D] for observations [B, obs_dim], given the index of the call (for
// noise that is the same across recipes).
using ChunkSource = std::function<torch::Tensor(const torch::Tensor& obs, int64_t call)>;

// `episodes` episodes of `split` (scene seeds seed·1000003 + e), all stepped together: every live
// episode gets a chunk, executes `shift` of its actions, and re-plans.
RolloutStats rollout(const ChunkSource& chunks, tableworld::Split split, int64_t episodes, int shift, uint64_t seed);

// A flow policy's chunks by `flow_steps` Euler steps, from noise that depends only on `seed` and the
// call's index: every recipe and every N meet the same noise.
ChunkSource flow_chunks(std::shared_ptr<FlowPolicy> policy, int64_t flow_steps, uint64_t seed);

// Rollouts on the three evaluation splits (direct, known, novel) with the evaluation's scene seed:
// {"success_direct", "follow_direct", …}.
nlohmann::json split_rates(const ChunkSource& chunks, int64_t episodes, int shift);

// Greedy AR decoding of FAST tokens from each observation's prefix (recipe R2's inference): at most
// `max_tokens` codes, then "|"; a row whose tokens do not decode gets the tokenizer's fallback chunk
// and counts in `*failures`. Returns [B, H, D] raw actions.
torch::Tensor decode_fast_chunks(KiModel& model, const ActionTokenizer& fast, const tableworld::Vocabulary& vocabulary,
                                 const torch::Tensor& obs, int64_t max_tokens, int64_t* failures);

// The share of the 24 entities whose colour is the argmax, among the 8 colour words, after
// "question : what colour is the <entity> ? answer :".
double fact_accuracy(KiModel& model, const tableworld::Vocabulary& vocabulary);

// Mean next-token NLL (nats per scored token) of `rows`, in batches.
double language_nll_of(KiModel& model, const LanguageRows& rows);

}  // namespace engram::ki
