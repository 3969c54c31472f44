// The mixer policy's velocity network (policy/mixer_policy.h) without LibTorch's dispatcher, and its
// hand-written vector–Jacobian product, so that plain and RTC-guided chunks cost a few small matrix
// products each instead of a few hundred ATen calls. Weights are packed once from a MixerPolicy
// (copied: later training does not reach them); samples of a batch run one after another.
//
// The time conditioning (time embedding and every AdaLN scale, shift and gate) depends on τ only,
// and a sampler with n Euler steps asks for the same n values of τ in every chunk, so it is
// computed once per τ and kept.
//
// It is a FlowPolicy, so the samplers, `engram policy eval` and the real-time runner use it as they
// use the LibTorch network, which stays the definition and the reference (tests/runtime). One
// sampler at a time: the scratch buffers belong to the object.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include "engram/core/config.h"
#include "engram/policy/flow_policy.h"
#include "engram/policy/mixer_policy.h"

namespace engram {

class MixerVelocity : public FlowPolicy {
 public:
  explicit MixerVelocity(MixerPolicy& policy);

  torch::Tensor velocity(const torch::Tensor& noisy_chunk, const torch::Tensor& obs, const torch::Tensor& tau) override;
  std::pair<torch::Tensor, torch::Tensor> guided_velocity(const torch::Tensor& chunk, const torch::Tensor& obs, double tau,
                                                          const torch::Tensor& target,
                                                          const torch::Tensor& weights) override;
  int64_t horizon() const override { return c_.horizon; }
  int64_t action_dim() const override { return c_.action_dim; }
  int64_t obs_dim() const override { return c_.obs_dim; }

 private:
  // A weight matrix zero-padded for the tile product (kernels/tile_math.h), in both orientations
  // the forward and the VJP need.
  struct Matrix {
    std::vector<float> w, wt;  // W [out, ld_w] and Wᵀ [in, ld_wt], zero-padded
    int64_t ld_w = 0, ld_wt = 0;
  };
  struct Block {
    Matrix token_in, token_out, channel_in, channel_out;
  };
  // The activations of one sample's forward pass that its VJP reads again.
  struct Saved {
    std::vector<float> xhat, rstd, token_pre, channel_pre;  // per block, laid end to end
    std::vector<float> final_xhat, final_rstd;
  };

  // Everything that depends on τ alone: per block the token and channel (scale, shift, gate), then
  // the final (scale, shift); each C floats.
  const std::vector<float>& conditioning(float tau);
  // One sample: chunk [H, M], obs [D_o] → v [H, M].
  void forward(const float* chunk, const float* obs, float tau, float* v);
  // dchunk [H, M] = (∂v/∂chunk)ᵀ dv, for the sample forward() last ran on.
  void backward(const float* dv, float* dchunk);

  MixerPolicyConfig c_;
  int64_t Hp_ = 0, Cp_ = 0, Tp_ = 0, Fp_ = 0, Ip_ = 0, Mp_ = 0;  // padded H, C, token hidden, channel hidden, input, M
  std::vector<float> periods_, obs_mean_, obs_std_, time1_w_, time1_b_, time2_w_, time2_b_;
  std::vector<float> ada_w_, ada_b_;  // every AdaLN map stacked: [blocks·6C + 2C, C]
  Matrix input_, output_;
  std::vector<float> input_b_, output_b_;
  std::vector<Block> blocks_;
  std::map<float, std::vector<float>> conditioning_;
  Saved saved_;
  const std::vector<float>* cond_ = nullptr;  // of the last forward
  // scratch
  std::vector<float> in_, x_, u_, hidden_, y_, dx_, du_, dhidden_, dy_, row_, time_a_, time_b_;
};

// Where a loaded policy's velocity network runs: LibTorch (the reference; every network), this
// runtime (mixer policies), or auto: this runtime where it covers the network. The one place the
// choice is made, for every command.
enum class PolicyRuntime { kAuto, kTorch, kFast };
const Names<PolicyRuntime>& names_of(PolicyRuntime);
// A MixerVelocity of a mixer policy for kFast and kAuto; otherwise the policy itself, except that
// kFast on a network the runtime does not cover is an engram::Error.
std::shared_ptr<FlowPolicy> on_runtime(const std::shared_ptr<FlowPolicy>& policy, PolicyRuntime runtime);

}  // namespace engram
