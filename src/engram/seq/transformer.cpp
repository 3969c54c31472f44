#include "engram/seq/transformer.h"

#include <cmath>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/seed.h"
#include "engram/kernels/softmax_read.h"
#include "engram/seq/cache_buffer.h"

namespace engram {

const Names<Positions>& names_of(Positions) {
  static const Names<Positions> names = {{"learned", Positions::kLearned}, {"rotary", Positions::kRotary}};
  return names;
}

TransformerConfig TransformerConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  TransformerConfig t;
  t.fields(c);
  c.finish();
  c.require_divisible("n_embd", t.n_embd, "n_head", t.n_head);
  if (t.positions == Positions::kRotary && (t.n_embd / t.n_head) % 2 != 0)
    throw Error("config " + c.path("positions") + " = rotary needs an even head size, got " +
                std::to_string(t.n_embd / t.n_head));
  return t;
}

nlohmann::json TransformerConfig::to_json() const { return write_config(*this); }

namespace {

// Rotary position embedding, half-split convention: the pair (x_i, x_{i+d/2}) is rotated by
// angle p·base^{-2i/d}. q·k then depends on positions only through their difference.
torch::Tensor rotate(const torch::Tensor& x, int64_t offset, double base) {
  const int64_t T = x.size(2), d = x.size(3), half = d / 2;
  auto opts = torch::TensorOptions().dtype(torch::kFloat32).device(x.device());
  auto inv_freq = torch::pow(base, -torch::arange(0, half, opts) * 2.0 / d);
  auto angle = torch::outer(torch::arange(offset, offset + T, opts), inv_freq);  // [T, d/2]
  auto cos = angle.cos().to(x.dtype()), sin = angle.sin().to(x.dtype());
  auto x1 = x.narrow(3, 0, half), x2 = x.narrow(3, half, half);
  return torch::cat({x1 * cos - x2 * sin, x1 * sin + x2 * cos}, 3);
}

// Per-layer key/value cache, preallocated and grown by doubling so a step is O(context), not a copy.
struct KVCache : DecodeState {
  std::vector<torch::Tensor> k, v;  // [B, H, capacity, hd] each
};

}  // namespace

struct Transformer::Block : torch::nn::Module {
  explicit Block(const TransformerConfig& c) : cfg(c) {
    const int64_t d = c.n_embd;
    ln_1 = register_module("ln_1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
    c_attn = register_module("c_attn", torch::nn::Linear(torch::nn::LinearOptions(d, 3 * d).bias(c.bias)));
    c_proj = register_module("c_proj", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(c.bias)));
    if (c.mlp_ratio > 0) {
      ln_2 = register_module("ln_2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d})));
      c_fc = register_module("c_fc", torch::nn::Linear(torch::nn::LinearOptions(d, c.mlp_ratio * d).bias(c.bias)));
      mlp_proj = register_module("mlp_proj", torch::nn::Linear(torch::nn::LinearOptions(c.mlp_ratio * d, d).bias(c.bias)));
    }
    drop = register_module("drop", torch::nn::Dropout(c.dropout));
  }

  // x [B, T, D]; with a cache, keys/values of earlier positions come from it and these are appended.
  torch::Tensor forward(torch::Tensor x, KVCache* cache, int64_t layer, int64_t offset) {
    x = x + drop(attention(ln_1(x), cache, layer, offset));
    if (c_fc) x = x + drop(mlp_proj(torch::gelu(c_fc(ln_2(x)), "tanh")));
    return x;
  }

  torch::Tensor attention(const torch::Tensor& x, KVCache* cache, int64_t layer, int64_t offset) {
    const int64_t B = x.size(0), T = x.size(1), H = cfg.n_head, hd = cfg.n_embd / cfg.n_head;
    auto qkv = c_attn(x).view({B, T, 3, H, hd}).permute({2, 0, 3, 1, 4});  // [3, B, H, T, hd]
    auto q = qkv[0], k = qkv[1], v = qkv[2];
    if (cfg.positions == Positions::kRotary) {
      q = rotate(q, offset, cfg.rotary_base);
      k = rotate(k, offset, cfg.rotary_base);
    }
    int64_t S = T;  // number of keys
    if (cache) {
      auto& K = cache->k[layer];
      auto& V = cache->v[layer];
      reserve_along(K, 2, offset + T);
      reserve_along(V, 2, offset + T);
      K.narrow(2, offset, T).copy_(k);
      V.narrow(2, offset, T).copy_(v);
      S = offset + T;
      k = K.narrow(2, 0, S);
      v = V.narrow(2, 0, S);
    }
    // Query i (absolute position offset+i) may see keys 0..offset+i.
    SoftmaxReadOptions read;
    read.scale = 1.0 / std::sqrt(static_cast<double>(hd));
    read.causal = true;
    read.shift = S - T;
    read.dropout = is_training() ? cfg.dropout : 0.0;
    read.seed = read.dropout > 0 ? torch_random64() : 0;
    auto y = softmax_read(q, k, v, read).transpose(1, 2).reshape({B, T, cfg.n_embd});
    return c_proj(y);
  }

  TransformerConfig cfg;
  torch::nn::LayerNorm ln_1{nullptr}, ln_2{nullptr};
  torch::nn::Linear c_attn{nullptr}, c_proj{nullptr}, c_fc{nullptr}, mlp_proj{nullptr};
  torch::nn::Dropout drop{nullptr};
};

Transformer::Transformer(const TransformerConfig& config) : config_(config) {
  const auto& c = config_;
  wte_ = register_module("wte", torch::nn::Embedding(c.vocab_size, c.n_embd));
  if (c.positions == Positions::kLearned) wpe_ = register_module("wpe", torch::nn::Embedding(c.block_size, c.n_embd));
  drop_ = register_module("drop", torch::nn::Dropout(c.dropout));
  // Tensor names follow nanoGPT ("blocks.0.c_attn.weight"), so checkpoints read naturally in Python.
  auto list = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layer; ++i) {
    blocks_.push_back(std::make_shared<Block>(c));
    list->push_back(blocks_.back());
  }
  ln_f_ = register_module("ln_f", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.n_embd})));

  // GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2·n_layer) so the
  // residual stream's variance does not grow with depth.
  torch::NoGradGuard no_grad;
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    if (name.find("bias") != std::string::npos) {
      p.value().zero_();
    } else if (name.find("ln_") != std::string::npos) {
      p.value().fill_(1.0);
    } else if (name.find("c_proj.weight") != std::string::npos || name.find("mlp_proj.weight") != std::string::npos) {
      p.value().normal_(0.0, 0.02 / std::sqrt(2.0 * c.n_layer));
    } else {
      p.value().normal_(0.0, 0.02);
    }
  }
}

torch::Tensor Transformer::embed(const torch::Tensor& tokens) {
  if (tokens.dim() != 2) throw Error("transformer: tokens must be [batch, time], got " + std::to_string(tokens.dim()) + " dims");
  return wte_(tokens);
}

torch::Tensor Transformer::run_blocks(torch::Tensor x, DecodeState* state, int64_t offset) {
  const int64_t T = x.size(1);
  if (wpe_) {
    if (offset + T > config_.block_size)
      throw Error("transformer: position " + std::to_string(offset + T - 1) + " is beyond block_size " +
                  std::to_string(config_.block_size) + " of learned positions (use positions=rotary to go further)");
    x = x + wpe_(torch::arange(offset, offset + T, torch::TensorOptions().dtype(torch::kLong).device(x.device())));
  }
  x = drop_(x);
  auto* cache = static_cast<KVCache*>(state);
  for (size_t i = 0; i < blocks_.size(); ++i) x = blocks_[i]->forward(x, cache, static_cast<int64_t>(i), offset);
  return ln_f_(x);
}

torch::Tensor Transformer::hidden(const torch::Tensor& x) { return run_blocks(x, nullptr, 0); }

OutputHead Transformer::head() const { return {wte_->weight}; }

std::unique_ptr<DecodeState> Transformer::init_state(int64_t batch) {
  auto s = std::make_unique<KVCache>();
  const int64_t H = config_.n_head, hd = config_.n_embd / H;
  const int64_t cap = std::min<int64_t>(config_.block_size, 256);
  auto opts = wte_->weight.options();
  for (int64_t i = 0; i < config_.n_layer; ++i) {
    s->k.push_back(torch::zeros({batch, H, cap, hd}, opts));
    s->v.push_back(torch::zeros({batch, H, cap, hd}, opts));
  }
  return s;
}

torch::Tensor Transformer::step(DecodeState& state, const torch::Tensor& token) {
  auto* cache = dynamic_cast<KVCache*>(&state);
  if (!cache) throw Error("transformer: step() was given a decode state made by another model");
  auto x = wte_(token.view({-1, 1}));
  auto h = run_blocks(x, cache, state.position);
  state.position += 1;
  return logits(h).squeeze(1);
}

ModelDescription Transformer::describe() const {
  const auto& c = config_;
  ModelDescription d;
  d.type = "transformer";
  d.parameters = count_parameters(const_cast<Transformer&>(*this));
  d.context = c.block_size;
  // Matrix-product FLOPs: 2 per multiply-add over the block weights and the tied output head, plus
  // attention scores and mixing (2·T·d each per layer, T = context), the PaLM-paper convention.
  const double D = static_cast<double>(c.n_embd);
  const double per_layer = (3 * D * D + D * D + 2 * c.mlp_ratio * D * D);
  d.flops_per_token = 2 * (c.n_layer * per_layer + D * c.vocab_size) + 4.0 * c.n_layer * D * c.block_size;
  d.summary = "transformer " + std::to_string(c.n_layer) + "x" + std::to_string(c.n_embd) + ", " +
              std::to_string(c.n_head) + " heads, " + name_of(c.positions) + " positions";
  return d;
}

}  // namespace engram
