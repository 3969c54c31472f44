// SequenceModel: the one interface every sequence model in engram implements.
//
// Trainers, evaluators, samplers and policy backbones see only this interface; they never know
// whether a transformer, a memory mosaic or an ATLAS memory is inside.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "engram/core/config.h"

namespace engram {

// Size and cost of a model, for `engram bench`, model FLOP utilisation and run logs.
struct ModelDescription {
  std::string type;
  int64_t parameters = 0;          // trainable parameters (tied weights counted once)
  double flops_per_token = 0;      // forward FLOPs per token at context length `context`
  int64_t context = 0;             // the length the FLOP count assumes (the training block size)
  std::string summary;             // one line, e.g. "transformer 4×128, 4 heads, rotary"
};

// The incremental-decoding state of one model for a batch of sequences: a KV cache for attention,
// running memories for recurrent models. Opaque to callers.
struct DecodeState {
  virtual ~DecodeState() = default;
  int64_t position = 0;  // number of tokens consumed so far
};

// The output head: logits = scale · h · weightᵀ, weight [vocab, D] (for most models the tied
// token embedding). Training takes the loss through it without forming the logits
// (kernels/cross_entropy.h, linear_cross_entropy).
struct OutputHead {
  torch::Tensor weight;
  double scale = 1.0;
};

class SequenceModel : public torch::nn::Module {
 public:
  // tokens [B, T] int64 -> logits [B, T, vocab]. Position t only sees tokens 0..t.
  torch::Tensor forward(const torch::Tensor& tokens) { return logits(hidden(embed(tokens))); }

  // The three stages of forward(), so a policy backbone can feed its own embeddings.
  virtual torch::Tensor embed(const torch::Tensor& tokens) = 0;   // [B,T] -> [B,T,D]
  virtual torch::Tensor hidden(const torch::Tensor& x) = 0;       // [B,T,D] -> [B,T,D], causal
  virtual OutputHead head() const = 0;
  torch::Tensor logits(const torch::Tensor& h) const;              // [B,T,D] -> [B,T,V]

  // Incremental decoding: step(state, token [B]) returns logits [B, V] for the next token and
  // advances the state by one position. Feeding a sequence token by token gives the same logits
  // as forward() on the whole sequence.
  virtual std::unique_ptr<DecodeState> init_state(int64_t batch) = 0;
  virtual torch::Tensor step(DecodeState& state, const torch::Tensor& token) = 0;

  virtual ModelDescription describe() const = 0;
  // The resolved model config (every key, defaults filled in): enough to rebuild this model.
  virtual nlohmann::json config() const = 0;
  virtual int64_t vocab_size() const = 0;
  // The longest context this model can process (learned positions); -1 when unbounded.
  virtual int64_t max_context() const = 0;
};

// Builds a model from its config ({"type": "transformer", ...}). Unknown types, unknown keys and
// out-of-range values throw engram::Error naming the key (`where` is the config path, e.g. "model").
std::shared_ptr<SequenceModel> make_model(const nlohmann::json& config, const std::string& where = "model");

// Validates a model config and returns it with every default filled in, without building the
// model (cheap, so callers can refuse a bad config before any expensive work). Throws like make_model.
nlohmann::json resolve_model_config(const nlohmann::json& config, const std::string& where = "model");

// Parameter count with tied/shared tensors counted once.
int64_t count_parameters(torch::nn::Module& module);

}  // namespace engram
