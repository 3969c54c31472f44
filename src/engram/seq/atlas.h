// ATLAS (Behrouz et al. 2025) and its family as one configurable model, spec: papers/atlas.md.
//
// Every block's token mixer is a test-time-trained memory per head (memory/inner_loop.h): keys,
// values and queries from short causal convolutions, a feature map on keys and queries, learned
// per-token gates (window weight γ, step size η, retention α, momentum decay θ), the memory read
// by the queries; then per-head RMSNorm, an output gate and a projection (spec §9.1). A SwiGLU MLP
// follows (§9.2). The same model with other switches is a baseline:
//   ATLAS      memory mlp, feature_map polynomial, optimizer muon, window c > 1
//   OmegaNet   … optimizer gd;   Titans (LMM)  memory mlp, identity, momentum, window 1
//   DeltaNet   memory linear, identity, gd, window 1, retention none, no memory_norm
//   gated linear attention  memory linear, objective dot, gd, window 1
#pragma once

#include "engram/memory/feature_map.h"
#include "engram/memory/inner_loop.h"
#include "engram/seq/model.h"

namespace engram {

enum class Retention { kLearned, kNone };  // "learned": α = sigmoid(·) (init ≈ 0.99) | "none": α = 1
const Names<Retention>& names_of(Retention);

struct AtlasConfig {
  int64_t vocab_size = 50257;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_embd = 64;
  int64_t block_size = 256;           // training context: only the FLOP count uses it
  MemoryKind memory = MemoryKind::kMlp;  // a residual 2-layer GELU MLP, or linear
  int64_t memory_expansion = 2;       // MLP hidden width = expansion × head size
  FeatureKind feature_map = FeatureKind::kPolynomial;
  int64_t degree = 2;                 // polynomial degree
  InnerObjective objective = InnerObjective::kL2;  // l2 (Omega rule) | dot (Hebbian, linear attention)
  InnerOptimizer optimizer = InnerOptimizer::kMuon;
  InnerMode mode = InnerMode::kBlock; // B block steps (the cheap mode) | P per-token steps (paper-faithful)
  int64_t window = 4;                 // c (mode B: a block step always sees max(c, chunk) tokens)
  int64_t chunk = 16;                 // b (P: chunk of gradients at its start state; B: block)
  int64_t ns_steps = 3;
  bool dual_form = true;              // mode P without NS: dual-form reads (false: materialised weights)
  double eta_max = 0.1;               // η = eta_max · sigmoid(·)
  double theta_init = 0.9;            // momentum decay θ at initialisation (its gate's bias)
  Retention retention = Retention::kLearned;
  bool memory_norm = true;            // TTT-style LayerNorm on the memory's prediction
  int64_t conv = 4;                   // causal depthwise convolution width on q, k, v (0 = none)

  template <class F>
  void fields(F& f) {
    f.tag("type", "atlas");
    f.field("vocab_size", vocab_size, 2, 1 << 24);
    f.field("n_layer", n_layer, 1, 64);
    f.field("n_head", n_head, 1, 64);
    f.field("n_embd", n_embd, 1, 1 << 14);
    f.field("block_size", block_size, 1, 1 << 24);
    f.field("memory", memory);
    f.field("memory_expansion", memory_expansion, 1, 16);
    f.field("feature_map", feature_map);
    f.field("degree", degree, 1, 4);
    f.field("objective", objective);
    f.field("optimizer", optimizer);
    f.field("mode", mode);
    f.field("window", window, 1, 4096);
    f.field("chunk", chunk, 1, 4096);
    f.field("ns_steps", ns_steps, 0, 20);
    f.field("dual_form", dual_form);
    f.field("eta_max", eta_max, 1e-6, 100.0);
    f.field("theta_init", theta_init, 1e-4, 1 - 1e-4);
    f.field("retention", retention);
    f.field("memory_norm", memory_norm);
    f.field("conv", conv, 0, 64);
  }

  static AtlasConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

class Atlas : public SequenceModel {
 public:
  explicit Atlas(const AtlasConfig& config);

  torch::Tensor embed(const torch::Tensor& tokens) override;
  torch::Tensor hidden(const torch::Tensor& x) override;
  OutputHead head() const override;
  std::unique_ptr<DecodeState> init_state(int64_t batch) override;
  torch::Tensor step(DecodeState& state, const torch::Tensor& token) override;
  ModelDescription describe() const override;
  nlohmann::json config() const override { return config_.to_json(); }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t max_context() const override { return -1; }

  struct Block;

 private:
  AtlasConfig config_;
  torch::nn::Embedding wte_{nullptr};
  std::vector<std::shared_ptr<Block>> blocks_;
  torch::Tensor ln_f_;
};

}  // namespace engram
