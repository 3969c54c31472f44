// The velocity network of the RTC paper's Kinetix experiments (spec §2.3): an MLP-Mixer over the H
// action tokens with AdaLN-Zero time conditioning. Each token is [noisy action ; observation]; blocks
// mix across tokens then across channels, each LayerNorm modulated by scale/shift/gate maps of the
// time embedding that start at zero, so every block starts as the identity.
#pragma once

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>

#include "engram/core/config.h"
#include "engram/policy/flow_policy.h"

namespace engram {

struct MixerPolicyConfig {
  int64_t obs_dim = 4;
  int64_t action_dim = 2;
  int64_t horizon = 8;
  int64_t channels = 128;        // C (the paper: 256); also the time-embedding width
  int64_t channel_hidden = 256;  // (512)
  int64_t token_hidden = 32;     // (64)
  int64_t blocks = 3;            // (4)

  template <class F>
  void fields(F& f) {
    f.tag("type", "mixer");
    f.field("obs_dim", obs_dim, 1, 1 << 16);
    f.field("action_dim", action_dim, 1, 1 << 12);
    f.field("horizon", horizon, 1, 1 << 12);
    f.field("channels", channels, 2, 1 << 14);
    f.field("channel_hidden", channel_hidden, 1, 1 << 16);
    f.field("token_hidden", token_hidden, 1, 1 << 14);
    f.field("blocks", blocks, 1, 256);
  }

  static MixerPolicyConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// Throws engram::Error naming the shape that does not fit [B, H, M], [B, D_o], [B].
void check_velocity_inputs(const MixerPolicyConfig& config, const torch::Tensor& noisy_chunk, const torch::Tensor& obs,
                           const torch::Tensor& tau);

class MixerPolicy : public torch::nn::Module, public FlowPolicy {
 public:
  explicit MixerPolicy(const MixerPolicyConfig& config);
  torch::Tensor velocity(const torch::Tensor& noisy_chunk, const torch::Tensor& obs, const torch::Tensor& tau) override;
  int64_t horizon() const override { return config_.horizon; }
  int64_t action_dim() const override { return config_.action_dim; }
  int64_t obs_dim() const override { return config_.obs_dim; }
  const MixerPolicyConfig& config() const { return config_; }
  // Multiply–adds ×2 of one sample's forward pass.
  double flops_per_sample() const;
  // Observations are standardised inside the network with these statistics of the training data,
  // so callers pass raw observations; identity until set.
  void set_observation_stats(const torch::Tensor& mean, const torch::Tensor& std);

 private:
  struct Block {
    torch::nn::Linear token_in{nullptr}, token_out{nullptr}, channel_in{nullptr}, channel_out{nullptr};
    torch::nn::Linear ada_token{nullptr}, ada_channel{nullptr};
  };
  torch::Tensor time_embedding(const torch::Tensor& tau);

  MixerPolicyConfig config_;
  torch::Tensor periods_, obs_mean_, obs_std_;
  torch::nn::Linear time1_{nullptr}, time2_{nullptr}, input_{nullptr}, ada_final_{nullptr}, output_{nullptr};
  std::vector<Block> blocks_;
};

}  // namespace engram
