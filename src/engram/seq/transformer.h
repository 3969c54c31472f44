// A GPT-2-style transformer: pre-LayerNorm blocks of causal self-attention and a GELU MLP,
// token embeddings tied to the output head, learned absolute or rotary positions.
// The honest baseline every other sequence model in engram is compared with.
#pragma once

#include "engram/seq/model.h"

namespace engram {

enum class Positions { kLearned, kRotary };  // "learned" | "rotary" (rotary extrapolates past block_size)
const Names<Positions>& names_of(Positions);

struct TransformerConfig {
  int64_t vocab_size = 50257;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_embd = 128;
  int64_t block_size = 256;         // training context; the limit of learned positions
  Positions positions = Positions::kLearned;
  double rotary_base = 10000.0;
  int64_t mlp_ratio = 4;             // MLP hidden size / n_embd; 0 = attention-only blocks
  double dropout = 0.0;
  bool bias = true;

  template <class F>
  void fields(F& f) {
    f.tag("type", "transformer");
    f.field("vocab_size", vocab_size, 2, 1 << 24);
    f.field("n_layer", n_layer, 1, 256);
    f.field("n_head", n_head, 1, 256);
    f.field("n_embd", n_embd, 1, 1 << 16);
    f.field("block_size", block_size, 1, 1 << 20);
    f.field("positions", positions);
    f.field("rotary_base", rotary_base, 1.0, 1e9);
    f.field("mlp_ratio", mlp_ratio, 0, 64);  // 0: attention-only blocks
    f.field("dropout", dropout, 0.0, 0.95);
    f.field("bias", bias);
  }

  static TransformerConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

class Transformer : public SequenceModel {
 public:
  explicit Transformer(const TransformerConfig& config);

  torch::Tensor embed(const torch::Tensor& tokens) override;
  torch::Tensor hidden(const torch::Tensor& x) override;
  OutputHead head() const override;
  std::unique_ptr<DecodeState> init_state(int64_t batch) override;
  torch::Tensor step(DecodeState& state, const torch::Tensor& token) override;
  ModelDescription describe() const override;
  nlohmann::json config() const override { return config_.to_json(); }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t max_context() const override { return config_.positions == Positions::kLearned ? config_.block_size : -1; }

 private:
  struct Block;
  TransformerConfig config_;
  torch::nn::Embedding wte_{nullptr}, wpe_{nullptr};
  torch::nn::Dropout drop_{nullptr};
  std::vector<std::shared_ptr<Block>> blocks_;
  torch::nn::LayerNorm ln_f_{nullptr};

  torch::Tensor run_blocks(torch::Tensor x, DecodeState* cache, int64_t offset);
};

}  // namespace engram
