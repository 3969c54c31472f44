#include "engram/policy/mixer_policy.h"

#include <cmath>

#include <torch/torch.h>

#include "engram/core/config.h"
#include "engram/core/error.h"

namespace engram {

MixerPolicyConfig MixerPolicyConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  MixerPolicyConfig m;
  m.fields(c);
  c.finish();
  if (m.channels % 2) throw Error("config " + c.path("channels") + " must be even (sines and cosines of the time)");
  return m;
}

nlohmann::json MixerPolicyConfig::to_json() const { return write_config(*this); }

namespace {

// Flax's default kernel init: LeCun normal, i.e. a normal truncated at ±2 standard units and
// rescaled so the result has standard deviation exactly 1/√fan_in.
void lecun_normal_(torch::Tensor w) {
  torch::NoGradGuard guard;
  const double fan_in = static_cast<double>(w.size(1));
  auto x = torch::randn_like(w);
  for (int i = 0; i < 16; ++i) {
    auto out = x.abs() > 2.0;
    if (!out.any().item<bool>()) break;
    x = torch::where(out, torch::randn_like(w), x);
  }
  x = x.clamp(-2.0, 2.0);
  w.copy_(x / 0.87962566103423978 / std::sqrt(fan_in));  // 0.8796… = std of N(0,1) truncated at ±2
}

torch::nn::Linear linear(int64_t in, int64_t out, bool bias, bool zero = false) {
  torch::nn::Linear l(torch::nn::LinearOptions(in, out).bias(bias));
  torch::NoGradGuard guard;
  if (zero) {
    l->weight.zero_();
  } else {
    lecun_normal_(l->weight);
  }
  if (bias) l->bias.zero_();
  return l;
}

torch::Tensor layer_norm(const torch::Tensor& x) { return torch::layer_norm(x, {x.size(-1)}, {}, {}, 1e-6); }

// Flax's default GELU is the tanh approximation.
torch::Tensor gelu_tanh(const torch::Tensor& x) { return torch::gelu(x, "tanh"); }

}  // namespace

MixerPolicy::MixerPolicy(const MixerPolicyConfig& config) : config_(config) {
  const int64_t C = config.channels, half = C / 2;
  // 128 log-spaced periods between 0.004 and 4 for C = 256: p_j = 0.004 · 1000^(j / (half − 1)).
  periods_ = register_buffer(
      "periods", 0.004 * torch::pow(torch::full({half}, 1000.0, torch::kFloat64),
                                     torch::arange(half, torch::kFloat64) / std::max<int64_t>(1, half - 1)).to(torch::kFloat32));
  obs_mean_ = register_buffer("obs_mean", torch::zeros({config.obs_dim}));
  obs_std_ = register_buffer("obs_std", torch::ones({config.obs_dim}));
  time1_ = register_module("time1", linear(C, C, true));
  time2_ = register_module("time2", linear(C, C, true));
  input_ = register_module("input", linear(config.action_dim + config.obs_dim, C, true));
  for (int64_t b = 0; b < config.blocks; ++b) {
    Block blk;
    const std::string p = "block" + std::to_string(b) + "_";
    blk.token_in = register_module(p + "token_in", linear(config.horizon, config.token_hidden, false));
    blk.token_out = register_module(p + "token_out", linear(config.token_hidden, config.horizon, false));
    blk.channel_in = register_module(p + "channel_in", linear(C, config.channel_hidden, false));
    blk.channel_out = register_module(p + "channel_out", linear(config.channel_hidden, C, false));
    blk.ada_token = register_module(p + "ada_token", linear(C, 3 * C, true, true));
    blk.ada_channel = register_module(p + "ada_channel", linear(C, 3 * C, true, true));
    blocks_.push_back(blk);
  }
  ada_final_ = register_module("ada_final", linear(C, 2 * C, true, true));
  output_ = register_module("output", linear(C, config.action_dim, true));
}

torch::Tensor MixerPolicy::time_embedding(const torch::Tensor& tau) {
  auto angle = 2.0 * M_PI * tau.to(periods_.scalar_type()).unsqueeze(1) / periods_.unsqueeze(0);  // [B, C/2]
  auto e = torch::cat({torch::sin(angle), torch::cos(angle)}, 1);                          // sines, then cosines
  return torch::silu(time2_(torch::silu(time1_(e))));
}

void check_velocity_inputs(const MixerPolicyConfig& c, const torch::Tensor& noisy_chunk, const torch::Tensor& obs,
                           const torch::Tensor& tau) {
  if (noisy_chunk.dim() != 3 || noisy_chunk.size(1) != c.horizon || noisy_chunk.size(2) != c.action_dim)
    throw Error("policy: noisy chunk has shape " + c10::str(noisy_chunk.sizes()) + ", expected [B, " +
                std::to_string(c.horizon) + ", " + std::to_string(c.action_dim) + "]");
  const int64_t B = noisy_chunk.size(0);
  if (obs.dim() != 2 || obs.size(0) != B || obs.size(1) != c.obs_dim)
    throw Error("policy: observation has shape " + c10::str(obs.sizes()) + ", expected [" + std::to_string(B) + ", " +
                std::to_string(c.obs_dim) + "]");
  if (tau.dim() != 1 || tau.size(0) != B) throw Error("policy: tau has shape " + c10::str(tau.sizes()) + ", expected [" + std::to_string(B) + "]");
}

torch::Tensor MixerPolicy::velocity(const torch::Tensor& noisy_chunk, const torch::Tensor& obs, const torch::Tensor& tau) {
  check_velocity_inputs(config_, noisy_chunk, obs, tau);
  const int64_t B = noisy_chunk.size(0), H = config_.horizon;
  const auto e = time_embedding(tau);
  const auto o = (obs - obs_mean_) / obs_std_;
  auto x = input_(torch::cat({noisy_chunk, o.unsqueeze(1).expand({B, H, config_.obs_dim})}, 2));  // [B, H, C]
  for (auto& blk : blocks_) {
    auto mod = blk.ada_token(e).unsqueeze(1).chunk(3, 2);  // scale | shift | gate, broadcast over tokens
    auto h = layer_norm(x) * (1 + mod[0]) + mod[1];
    h = blk.token_out(gelu_tanh(blk.token_in(h.transpose(1, 2)))).transpose(1, 2);
    x = x + mod[2] * h;
    mod = blk.ada_channel(e).unsqueeze(1).chunk(3, 2);
    h = layer_norm(x) * (1 + mod[0]) + mod[1];
    x = x + mod[2] * blk.channel_out(gelu_tanh(blk.channel_in(h)));
  }
  auto fin = ada_final_(e).unsqueeze(1).chunk(2, 2);
  return output_(layer_norm(x) * (1 + fin[0]) + fin[1]);
}

void MixerPolicy::set_observation_stats(const torch::Tensor& mean, const torch::Tensor& std) {
  torch::NoGradGuard guard;
  obs_mean_.copy_(mean);
  obs_std_.copy_(std);
}

double MixerPolicy::flops_per_sample() const {
  const double C = static_cast<double>(config_.channels), H = static_cast<double>(config_.horizon);
  double macs = 2 * C * C;                                                          // time MLP
  macs += H * C * static_cast<double>(config_.action_dim + config_.obs_dim);         // input
  macs += static_cast<double>(config_.blocks) *
          (2 * C * H * static_cast<double>(config_.token_hidden) + 2 * H * C * static_cast<double>(config_.channel_hidden) +
           6 * C * C);                                                              // mixing + AdaLN maps
  macs += 2 * C * C + H * C * static_cast<double>(config_.action_dim);              // final modulation + output
  return 2 * macs;
}

}  // namespace engram
