// A KI network on TableWorld as a FlowPolicy, so that the samplers (Euler, RTC, BID, temporal
// ensembling), `engram policy eval` and `engram policy run` drive it like the mixer. The prefix of an
// observation is encoded once and its K/V cached; every velocity call for the same observation
// (the integration steps of one chunk, RTC's guided steps) runs only the action expert.
//
// FlowPolicy's time runs from τ = 0 (noise) to 1 (data) with velocity a − ε; the KI network's t = 1 − τ
// predicts u = ε − a, so velocity(x, o, τ) = −u(x, o, 1 − τ).
#pragma once

#include <memory>

#include "engram/ki/ki_model.h"
#include "engram/policy/flow_policy.h"
#include "engram/tableworld/vocabulary.h"

namespace engram::ki {

class KiPolicy : public FlowPolicy {
 public:
  // `cache_prefix` false recomputes the whole sequence at every step (experiment (c)'s "no cache").
  explicit KiPolicy(std::shared_ptr<KiModel> model, bool cache_prefix = true);
  torch::Tensor velocity(const torch::Tensor& noisy_chunk, const torch::Tensor& obs, const torch::Tensor& tau) override;
  int64_t horizon() const override { return model_->config().horizon; }
  int64_t action_dim() const override { return model_->config().action_dim; }
  int64_t obs_dim() const override;
  KiModel& model() { return *model_; }
  int64_t prefix_encodings() const { return encodings_; }  // how often a prefix was encoded

 private:
  std::shared_ptr<KiModel> model_;
  bool cache_prefix_;
  tableworld::Vocabulary vocabulary_;
  torch::Tensor cached_obs_;
  PrefixCache cache_;
  int64_t encodings_ = 0;
};

}  // namespace engram::ki
