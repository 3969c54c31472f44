// Memory Mosaic (Zhang, Nolte, Sadhukhan, Chen, Bottou; ICLR 2025), spec: papers/memory-mosaics.md.
//
// A transformer-shaped stack in which every attention head is a contextual associative memory
// (C-mem: keys are a leaky average of the past, values look one step ahead, retrieval by
// Nadaraya–Watson kernel regression over strictly earlier pairs) and every feed-forward block is
// a persistent associative memory (P-mem: learned key/value slots read the same way).
// No position encoding. The "library" variant is the one that produced the paper's numbers;
// "nano" switches to the nanoGPT-style reference (memory-mosaics-import.md) for `engram import`.
#pragma once

#include "engram/seq/model.h"

namespace engram {

struct MosaicNorm;

struct MosaicConfig {
  int64_t vocab_size = 50257;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_embd = 128;
  int64_t block_size = 256;          // training context: only the FLOP count uses it
  std::string ffn = "pmem";          // "pmem" | "mlp" (GELU, 4d) | "none" (C-mem-only blocks)
  int64_t pmem_size = 0;             // slots per head; 0 = 3.5·n_embd (parameter parity with GPT-2)
  int64_t pmem_count = 1;            // independent slot banks, averaged
  double attn_dropout = 0.05;        // on C-mem retrieval weights
  double pmem_dropout = 0.05;        // on P-mem slot weights
  double resid_dropout = 0.05;       // on each block output
  std::string value_mix = "learned"; // "learned": v̄_t = (1−γ)ṽ_{t+1} + γṽ_t; "shift": γ = 0
  std::string leaky_average = "scan";  // "scan" (O(T)) | "matrix" (O(T²), the reference)
  std::string variant = "library";   // "library" | "nano" (see memory-mosaics-import.md)
  bool bias = false;                 // nano only: biases on projections and LayerNorms

  static MosaicConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  int64_t slots() const { return pmem_size > 0 ? pmem_size : (7 * n_embd) / 2; }
};

class MemoryMosaic : public SequenceModel {
 public:
  explicit MemoryMosaic(const MosaicConfig& config);

  torch::Tensor embed(const torch::Tensor& tokens) override;
  torch::Tensor hidden(const torch::Tensor& x) override;
  torch::Tensor logits(const torch::Tensor& h) override;
  std::unique_ptr<DecodeState> init_state(int64_t batch) override;
  torch::Tensor step(DecodeState& state, const torch::Tensor& token) override;
  ModelDescription describe() const override;
  nlohmann::json config() const override { return config_.to_json(); }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t max_context() const override { return -1; }

  struct Block;

 private:
  MosaicConfig config_;
  torch::nn::Embedding wte_{nullptr};
  std::vector<std::shared_ptr<Block>> blocks_;
  std::shared_ptr<struct MosaicNorm> ln_f_;
};

}  // namespace engram
