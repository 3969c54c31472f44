// The transformer (seq/transformer.h) one token at a time: pre-LayerNorm blocks, causal attention
// over a key/value cache, GELU MLP, tied output head. Parameters are read by their nanoGPT names.
#include "engram/runtime/transformer_decoder.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "engram/runtime/head_cache.h"
#include "engram/runtime/helper_thread.h"
#include "engram/runtime/ops.h"
#include "engram/runtime/weights.h"
#include "engram/seq/transformer.h"

namespace engram {
namespace {

struct Layer {
  Buffer ln_1_w, ln_1_b, attn_W, attn_b, proj_W, proj_b, ln_2_w, ln_2_b, fc_W, fc_b, mlp_W, mlp_b;
  HeadCache keys, values;
};

class TransformerDecoder : public Decoder {
 public:
  explicit TransformerDecoder(const Transformer& model) {
    const auto c = TransformerConfig::from_json(model.config(), "model");
    V_ = c.vocab_size;
    d_ = c.n_embd;
    H_ = c.n_head;
    hd_ = d_ / H_;
    hidden_ = c.mlp_ratio * d_;
    block_size_ = c.block_size;
    rotary_ = c.positions == Positions::kRotary;
    const auto params = model.named_parameters();
    wte_ = pack_parameter(params, "wte.weight");
    if (!rotary_) wpe_ = pack_parameter(params, "wpe.weight");
    ln_f_w_ = pack_parameter(params, "ln_f.weight");
    ln_f_b_ = pack_parameter(params, "ln_f.bias");
    for (int64_t i = 0; i < c.n_layer; ++i) {
      const std::string p = "blocks." + std::to_string(i) + ".";
      Layer l;
      l.ln_1_w = pack_parameter(params, p + "ln_1.weight");
      l.ln_1_b = pack_parameter(params, p + "ln_1.bias");
      l.attn_W = pack_parameter(params, p + "c_attn.weight");
      l.attn_b = pack_parameter(params, p + "c_attn.bias", c.bias);
      l.proj_W = pack_parameter(params, p + "c_proj.weight");
      l.proj_b = pack_parameter(params, p + "c_proj.bias", c.bias);
      if (hidden_ > 0) {
        l.ln_2_w = pack_parameter(params, p + "ln_2.weight");
        l.ln_2_b = pack_parameter(params, p + "ln_2.bias");
        l.fc_W = pack_parameter(params, p + "c_fc.weight");
        l.fc_b = pack_parameter(params, p + "c_fc.bias", c.bias);
        l.mlp_W = pack_parameter(params, p + "mlp_proj.weight");
        l.mlp_b = pack_parameter(params, p + "mlp_proj.bias", c.bias);
      }
      layers_.push_back(std::move(l));
    }
    // Rotary frequencies in float, as the LibTorch path computes them.
    for (int64_t i = 0; i < hd_ / 2; ++i)
      inv_freq_.push_back(static_cast<float>(std::pow(c.rotary_base, -static_cast<double>(2 * i) / hd_)));
    x_.resize(d_);
    h_.resize(d_);
    qkv_.resize(3 * d_);
    attn_.resize(d_);
    out_.resize(d_);
    ff_.resize(std::max<int64_t>(hidden_, 1));
    logits_.resize(V_);
    reset();
  }

  void reset() override {
    position_ = 0;
    for (auto& l : layers_) {
      l.keys = HeadCache(H_, hd_);
      l.values = HeadCache(H_, hd_);
      l.keys.reserve(std::min<int64_t>(block_size_, 256));
      l.values.reserve(std::min<int64_t>(block_size_, 256));
    }
  }

  int64_t vocab_size() const override { return V_; }
  double state_bytes() const override { return 4.0 * 2 * static_cast<double>(layers_.size() * position_ * d_); }

  const float* step(int64_t token) override {
    if (token < 0 || token >= V_) throw Error("decoder: token " + std::to_string(token) + " is outside the vocabulary");
    const int64_t t = position_;
    if (!rotary_ && t >= block_size_)
      throw Error("transformer: position " + std::to_string(t) + " is beyond block_size " + std::to_string(block_size_) +
                  " of learned positions (use positions=rotary to go further)");
    std::copy_n(wte_.data() + token * d_, d_, x_.data());
    if (!rotary_) ops::add(x_.data(), wpe_.data() + t * d_, d_);
    scores_.resize(static_cast<size_t>(H_ * (t + 1)));  // a row per head: the heads' reads run on two threads
    const float scale = 1.0f / std::sqrt(static_cast<float>(hd_));
    for (auto& l : layers_) {
      ops::layer_norm(x_.data(), l.ln_1_w.data(), l.ln_1_b.data(), h_.data(), d_, 1e-5f);
      matvec(helper_, l.attn_W.data(), data_or_null(l.attn_b), h_.data(), qkv_.data(), 3 * d_, d_);
      float *q = qkv_.data(), *k = q + d_, *v = k + d_;
      if (rotary_)
        for (int64_t h = 0; h < H_; ++h) {
          rotate(q + h * hd_, t);
          rotate(k + h * hd_, t);
        }
      l.keys.reserve(t + 1);
      l.values.reserve(t + 1);
      l.keys.put(t, k);
      l.values.put(t, v);
      helper_.split(H_, 1, [&](int64_t first, int64_t last) {
        for (int64_t h = first; h < last; ++h)
          ops::softmax_read_one(q + h * hd_, l.keys.head(h), hd_, l.values.head(h), hd_, t + 1, hd_, hd_, scale,
                                scores_.data() + h * (t + 1), attn_.data() + h * hd_);
      });
      matvec(helper_, l.proj_W.data(), data_or_null(l.proj_b), attn_.data(), out_.data(), d_, d_);
      ops::add(x_.data(), out_.data(), d_);
      if (hidden_ > 0) {
        ops::layer_norm(x_.data(), l.ln_2_w.data(), l.ln_2_b.data(), h_.data(), d_, 1e-5f);
        matvec(helper_, l.fc_W.data(), data_or_null(l.fc_b), h_.data(), ff_.data(), hidden_, d_);
        ops::gelu_tanh(ff_.data(), ff_.data(), hidden_);
        matvec(helper_, l.mlp_W.data(), data_or_null(l.mlp_b), ff_.data(), out_.data(), d_, hidden_);
        ops::add(x_.data(), out_.data(), d_);
      }
    }
    ops::layer_norm(x_.data(), ln_f_w_.data(), ln_f_b_.data(), h_.data(), d_, 1e-5f);
    matvec(helper_, wte_.data(), nullptr, h_.data(), logits_.data(), V_, d_);
    ++position_;
    return logits_.data();
  }

 private:
  // Rotary embedding at position t, half-split pairs (x_i, x_{i+hd/2}) (seq/transformer.cpp).
  void rotate(float* x, int64_t t) const {
    const int64_t half = hd_ / 2;
    for (int64_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(t) * inv_freq_[i];
      const float c = std::cos(angle), s = std::sin(angle), a = x[i], b = x[i + half];
      x[i] = a * c - b * s;
      x[i + half] = a * s + b * c;
    }
  }

  int64_t V_, d_, H_, hd_, hidden_, block_size_;
  bool rotary_;
  Buffer wte_, wpe_, ln_f_w_, ln_f_b_;
  std::vector<Layer> layers_;
  std::vector<float> inv_freq_;
  Buffer x_, h_, qkv_, attn_, out_, ff_, logits_, scores_;
  HelperThread helper_{at::get_num_threads() > 1};
};

}  // namespace

std::unique_ptr<Decoder> make_transformer_decoder(const Transformer& model) {
  return std::make_unique<TransformerDecoder>(model);
}

}  // namespace engram
