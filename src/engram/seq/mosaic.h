// Memory Mosaic (Zhang, Nolte, Sadhukhan, Chen, Bottou; ICLR 2025), spec: papers/memory-mosaics.md.
//
// A transformer-shaped stack in which every attention head is a contextual associative memory
// (C-mem: keys are a leaky average of the past, values look one step ahead, retrieval by
// Nadaraya–Watson kernel regression over strictly earlier pairs) and every feed-forward block is
// a persistent associative memory (P-mem: learned key/value slots read the same way).
// No position encoding. The "library" variant is the one that produced the paper's numbers;
// "nano" switches to the nanoGPT-style reference (memory-mosaics-import.md) for `engram import`.
#pragma once

#include "engram/core/config.h"
#include "engram/seq/model.h"

namespace engram {

struct MosaicNorm;

enum class MosaicFfn { kPmem, kMlp, kNone };      // "pmem" | "mlp" (GELU, 4d) | "none" (C-mem-only blocks)
enum class ValueMix { kLearned, kShift };         // "learned": v̄_t = (1−γ)ṽ_{t+1} + γṽ_t | "shift": γ = 0
enum class LeakyAverage { kScan, kMatrix };       // "scan" (O(T)) | "matrix" (O(T²), the reference)
enum class MosaicVariant { kLibrary, kNano };     // "library" | "nano" (see memory-mosaics-import.md)
const Names<MosaicFfn>& names_of(MosaicFfn);
const Names<ValueMix>& names_of(ValueMix);
const Names<LeakyAverage>& names_of(LeakyAverage);
const Names<MosaicVariant>& names_of(MosaicVariant);

struct MosaicConfig {
  int64_t vocab_size = 50257;
  int64_t n_layer = 4;
  int64_t n_head = 4;
  int64_t n_embd = 128;
  int64_t block_size = 256;          // training context: only the FLOP count uses it
  MosaicFfn ffn = MosaicFfn::kPmem;
  int64_t pmem_size = 0;             // slots per head; 0 = 3.5·n_embd (parameter parity with GPT-2)
  int64_t pmem_count = 1;            // independent slot banks, averaged
  double attn_dropout = 0.05;        // on C-mem retrieval weights
  double pmem_dropout = 0.05;        // on P-mem slot weights
  double resid_dropout = 0.05;       // on each block output
  ValueMix value_mix = ValueMix::kLearned;
  LeakyAverage leaky_average = LeakyAverage::kScan;
  MosaicVariant variant = MosaicVariant::kLibrary;
  bool bias = false;                 // nano only: biases on projections and LayerNorms

  template <class F>
  void fields(F& f) {
    f.tag("type", "mosaic");
    f.field("vocab_size", vocab_size, 2, 1 << 24);
    f.field("n_layer", n_layer, 1, 256);
    f.field("n_head", n_head, 1, 256);
    f.field("n_embd", n_embd, 1, 1 << 16);
    f.field("block_size", block_size, 1, 1 << 24);
    f.field("ffn", ffn);
    f.field("pmem_size", pmem_size, 0, 1 << 20);
    f.field("pmem_count", pmem_count, 1, 64);
    f.field("attn_dropout", attn_dropout, 0.0, 0.95);
    f.field("pmem_dropout", pmem_dropout, 0.0, 0.95);
    f.field("resid_dropout", resid_dropout, 0.0, 0.95);
    f.field("value_mix", value_mix);
    f.field("leaky_average", leaky_average);
    f.field("variant", variant);
    f.field("bias", bias);
  }

  static MosaicConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  int64_t slots() const { return pmem_size > 0 ? pmem_size : (7 * n_embd) / 2; }
};

// What batch-1 decoding reads from a mosaic, every per-head constant already evaluated from its
// parameters (λ_h, key scales, value and read-out amplitudes), so that a runtime outside LibTorch
// (runtime/mosaic_decoder) repeats none of the model's formulas. Undefined tensors are absent
// parts (biases of the library variant, γ of value_mix = shift, the feed-forward not chosen).
struct MosaicInferenceWeights {
  struct Block {
    torch::Tensor ln_1_w, ln_1_b;
    torch::Tensor key_W, key_b, key_lambda, key_scale;        // C-mem keys [d, d], [d], [H], [H]
    torch::Tensor value_W, value_b, value_mix, value_amp;      // C-mem values; γ [H], a [H]
    torch::Tensor cmem_proj_W, cmem_proj_b;
    torch::Tensor ln_2_w, ln_2_b;
    torch::Tensor query_W, query_b, query_lambda, query_scale;  // P-mem queries
    torch::Tensor slot_keys, slot_values, read_amp;             // [banks, H, P, dh] ×2; amplitude/banks [H]
    torch::Tensor pmem_proj_W, pmem_proj_b;
    torch::Tensor fc_W, fc_b, mlp_proj_W, mlp_proj_b;           // the MLP feed-forward
  };
  std::vector<Block> blocks;
  torch::Tensor wte, ln_f_w, ln_f_b;
  double norm_eps = 0;     // k / (‖k‖ + eps)
  double logit_scale = 1;  // on the tied-embedding logits
};

class MemoryMosaic : public SequenceModel {
 public:
  explicit MemoryMosaic(const MosaicConfig& config);

  torch::Tensor embed(const torch::Tensor& tokens) override;
  torch::Tensor hidden(const torch::Tensor& x) override;
  OutputHead head() const override;
  std::unique_ptr<DecodeState> init_state(int64_t batch) override;
  torch::Tensor step(DecodeState& state, const torch::Tensor& token) override;
  ModelDescription describe() const override;
  nlohmann::json config() const override { return config_.to_json(); }
  int64_t vocab_size() const override { return config_.vocab_size; }
  int64_t max_context() const override { return -1; }
  const MosaicConfig& mosaic_config() const { return config_; }
  MosaicInferenceWeights inference_weights() const;

  struct Block;

 private:
  MosaicConfig config_;
  torch::nn::Embedding wte_{nullptr};
  std::vector<std::shared_ptr<Block>> blocks_;
  std::shared_ptr<struct MosaicNorm> ln_f_;
};

}  // namespace engram
