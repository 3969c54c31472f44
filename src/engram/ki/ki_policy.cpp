#include "engram/ki/ki_policy.h"

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/tableworld/prompt.h"
#include "engram/tableworld/scene.h"

namespace engram::ki {

KiPolicy::KiPolicy(std::shared_ptr<KiModel> model, bool cache_prefix) : model_(std::move(model)), cache_prefix_(cache_prefix) {
  if (!model_->config().expert) throw Error("KI policy: the model has no action expert to integrate");
}

int64_t KiPolicy::obs_dim() const { return tableworld::kObsDim; }

torch::Tensor KiPolicy::velocity(const torch::Tensor& noisy_chunk, const torch::Tensor& obs, const torch::Tensor& tau) {
  const auto t = 1 - tau;
  if (!cache_prefix_) {
    const auto prefix = tableworld::prompt_prefix(obs, vocabulary_);
    const int64_t B = obs.size(0);
    ++encodings_;
    return -model_->forward(prefix, torch::zeros({B, 0}, torch::kLong), torch::zeros({B, 0}, torch::kBool), noisy_chunk, t).velocity;
  }
  if (!cached_obs_.defined() || !cached_obs_.sizes().equals(obs.sizes()) || !torch::equal(cached_obs_, obs)) {
    torch::NoGradGuard no_grad;
    cache_ = model_->encode_prefix(tableworld::prompt_prefix(obs, vocabulary_));
    cached_obs_ = obs.clone();
    ++encodings_;
  }
  return -model_->velocity(cache_, noisy_chunk, t);
}

}  // namespace engram::ki
