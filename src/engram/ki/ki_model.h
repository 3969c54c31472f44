// The KI policy network (KI spec §2, §5; sizes of §8.2): one transformer with two sets of weights, a
// backbone ("toy VLM") for the prefix P and the FAST block F and an action expert for the H noisy
// action tokens A. Per layer each group has its own norms, Q/K/V/O projections and GeGLU
// feed-forward; the groups meet only in attention (multi-query: one K/V head), under the KI mask
// (ki_mask.h). With the stop-gradient on, the expert's queries read detached backbone keys and
// values (§5.4), so the flow loss cannot reach any backbone weight; the forward pass is the same
// either way. (With shared weights, below, it reaches them anyway: there is nothing to insulate.)
//
// The backbone: RMSNorm with a learned (1 + scale), embeddings scaled by √width, tied output head.
// The expert: the flow time t (t = 1 noise, t = 0 data, §3) through a sinusoidal embedding and a
// two-layer swish MLP conditions every norm by adaptive RMSNorm, n = rms(x)·(1 + scale) + shift,
// and gates every residual branch, x + gate ⊙ F(n), with scale/shift/gate maps zero-initialised, so
// every expert block starts switched off (§2.3). Rotary positions on Q and K, rotate-half layout.
//
// Inference encodes the prefix once (its per-layer K/V are cached, PrefixCache) and integrates only
// the expert; the AR FAST decoder (recipe R2) extends a backbone cache one token at a time.
//
// With `shared_weights` (recipe R10, Transfusion-like) there is no expert: the action tokens, their
// flow time added to their embedding, go through the backbone's own norms, projections and
// feed-forwards and its final norm; only the action in/out projections and the time MLP are new.
#pragma once

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "engram/core/config.h"

namespace engram::ki {

struct KiModelConfig {
  int64_t vocab = 0;            // the backbone's vocabulary (text, state bins, FAST ids)
  int64_t width = 128, ffn = 256;                 // backbone
  int64_t expert_width = 64, expert_ffn = 128;    // action expert
  int64_t depth = 4;
  int64_t heads = 4, head_dim = 32;               // one K/V head (multi-query), as Gemma
  int64_t horizon = 16, action_dim = 3;
  bool expert = true;           // false: no action expert (the π0-FAST-style recipe R2)
  bool shared_weights = false;  // the action tokens use the backbone's layers (R10); needs `expert`

  template <class F>
  void fields(F& f) {
    f.field("vocab", vocab, 1, 1 << 24);
    f.field("width", width, 2, 1 << 14);
    f.field("ffn", ffn, 1, 1 << 16);
    f.field("expert_width", expert_width, 2, 1 << 14);
    f.field("expert_ffn", expert_ffn, 1, 1 << 16);
    f.field("depth", depth, 1, 256);
    f.field("heads", heads, 1, 256);
    f.field("head_dim", head_dim, 2, 1024);
    f.field("horizon", horizon, 1, 1024);
    f.field("action_dim", action_dim, 1, 1024);
    f.field("expert", expert);
    f.field("shared_weights", shared_weights);
  }
};

// The prefix P of a batch: token ids with `objects` observation tokens at positions 1 … K (each
// E[colour] + E[shape] + W_pos·(x, y), the stand-in for image tokens), padding at the end.
struct PrefixInput {
  torch::Tensor ids;            // [B, P] long; object slots hold any id (replaced)
  torch::Tensor valid;          // [B, P] bool
  torch::Tensor object_words;   // [B, K, 2] long: colour and shape word ids
  torch::Tensor object_xy;      // [B, K, 2] float
};

struct ForwardOptions {
  bool stop_gradient = true;     // KI: the expert reads detached backbone K/V
  bool action_sees_fast = false; // R9's leakage
};

struct TrainOutputs {
  torch::Tensor logits;    // [B, P+F, V] backbone logits (position i predicts token i+1)
  torch::Tensor velocity;  // [B, H, D], undefined without an expert or without action tokens
  torch::Tensor backbone_hidden;  // [B, P+F, W] final-norm backbone states
};

// Per-layer keys and values of an encoded prefix (after RoPE), for the expert's integration steps
// and for AR decoding.
struct PrefixCache {
  std::vector<torch::Tensor> keys, values;  // each [B, 1, N, head_dim]
  torch::Tensor valid;                      // [B, N] bool
  torch::Tensor next_position;              // [B] long: the position the next token gets
  torch::Tensor last_hidden;                // [B, W] final-norm state of the last valid token
};

class KiModel : public torch::nn::Module {
 public:
  explicit KiModel(const KiModelConfig& config);

  // The full training pass over P, F (may be empty: F of width 0) and, with an expert, A = x_t at
  // flow time t [B].
  TrainOutputs forward(const PrefixInput& prefix, const torch::Tensor& fast_ids, const torch::Tensor& fast_valid,
                       const torch::Tensor& noisy_actions, const torch::Tensor& t, const ForwardOptions& options = {});

  // Backbone-only language pass (stage 0, co-training): logits [B, L, V] under the prefix-LM mask.
  torch::Tensor language_logits(const torch::Tensor& ids, const torch::Tensor& valid, const torch::Tensor& prefix_length);

  PrefixCache encode_prefix(const PrefixInput& prefix);
  // The expert's velocity u ≈ ε − a for x_t against a cached prefix (no F).
  torch::Tensor velocity(const PrefixCache& cache, const torch::Tensor& noisy_actions, const torch::Tensor& t);
  // One cached backbone decode step: appends `ids` [B] (attending the cache and themselves) and
  // returns the next-token logits [B, V].
  torch::Tensor decode_step(PrefixCache& cache, const torch::Tensor& ids);

  // Parameter groups for clipping and freezing: the backbone's and the expert's.
  std::vector<torch::Tensor> backbone_parameters() const;
  std::vector<torch::Tensor> expert_parameters() const;
  // The expert blocks' residual gates at flow time t (for the adaRMS-init test): [depth·2] tensors;
  // none with shared weights.
  std::vector<torch::Tensor> expert_gates(const torch::Tensor& t);

  const KiModelConfig& config() const { return config_; }
  torch::Tensor embedding_weight() const { return embed_->weight; }

 private:
  struct Group {  // one token group's weights in one layer
    torch::nn::Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr}, gate{nullptr}, up{nullptr}, down{nullptr};
    torch::Tensor attn_scale, ffn_scale;                  // backbone: RMSNorm (1 + scale)
    torch::nn::Linear ada_attn{nullptr}, ada_ffn{nullptr};  // expert: c → (scale, shift, gate)
  };
  Group make_group(const std::string& name, int64_t width, int64_t ffn, bool adaptive);
  torch::Tensor embed_prefix(const PrefixInput& prefix);
  torch::Tensor time_condition(const torch::Tensor& t);
  // Q, K, V of `x` for group g after RoPE at `positions`: [B, heads, N, d], [B, 1, N, d] ×2.
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> qkv(Group& g, const torch::Tensor& x, const torch::Tensor& positions);
  torch::Tensor ffn(Group& g, const torch::Tensor& x);
  // The action stream: its first state from x_t and the time condition c; one layer, whose queries
  // read the backbone's keys and values kb, vb (prefix, F) and their own under `mask`; the velocity.
  torch::Tensor action_embed(const torch::Tensor& noisy_actions, const torch::Tensor& c);
  torch::Tensor action_layer(size_t l, const torch::Tensor& xa, const torch::Tensor& c, const torch::Tensor& kb,
                             const torch::Tensor& vb, const torch::Tensor& mask, const torch::Tensor& positions);
  torch::Tensor action_velocity(const torch::Tensor& xa, const torch::Tensor& c);

  KiModelConfig config_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Linear object_xy_{nullptr};
  std::vector<Group> backbone_, expert_;
  torch::Tensor final_scale_;
  torch::nn::Linear action_in_{nullptr}, time1_{nullptr}, time2_{nullptr}, ada_final_{nullptr}, action_out_{nullptr};
  torch::Tensor time_periods_;
};

// Masked softmax attention: q [B, h, Nq, d] (already scaled), k and v [B, 1, Nk, d], mask [B, Nq, Nk]
// bool; rows with no allowed key give zeros. Returns [B, Nq, h·d].
torch::Tensor masked_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& mask);

// Rotary embedding, rotate-half layout: channel i pairs with i + d/2, angle pos·10000^(−2i/d).
torch::Tensor rope(const torch::Tensor& x, const torch::Tensor& positions);

// RMS normalisation x / √(mean(x²) + 1e−6).
torch::Tensor rms(const torch::Tensor& x);

}  // namespace engram::ki
