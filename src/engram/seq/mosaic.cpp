#include "engram/seq/mosaic.h"

#include <cmath>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/seed.h"
#include "engram/kernels/lookahead_value.h"
#include "engram/kernels/scaled_normalise.h"
#include "engram/kernels/softmax_read.h"
#include "engram/seq/cache_buffer.h"
#include "engram/seq/leaky_average.h"

namespace engram {

const Names<MosaicFfn>& names_of(MosaicFfn) {
  static const Names<MosaicFfn> names = {{"pmem", MosaicFfn::kPmem}, {"mlp", MosaicFfn::kMlp}, {"none", MosaicFfn::kNone}};
  return names;
}
const Names<ValueMix>& names_of(ValueMix) {
  static const Names<ValueMix> names = {{"learned", ValueMix::kLearned}, {"shift", ValueMix::kShift}};
  return names;
}
const Names<LeakyAverage>& names_of(LeakyAverage) {
  static const Names<LeakyAverage> names = {{"scan", LeakyAverage::kScan}, {"matrix", LeakyAverage::kMatrix}};
  return names;
}
const Names<MosaicVariant>& names_of(MosaicVariant) {
  static const Names<MosaicVariant> names = {{"library", MosaicVariant::kLibrary}, {"nano", MosaicVariant::kNano}};
  return names;
}

MosaicConfig MosaicConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  MosaicConfig m;
  m.fields(c);
  c.finish();
  c.require_divisible("n_embd", m.n_embd, "n_head", m.n_head);
  if (m.bias && m.variant != MosaicVariant::kNano)
    throw Error("config " + c.path("bias") + " = true exists only in the nano variant (set model.variant=nano)");
  return m;
}

nlohmann::json MosaicConfig::to_json() const { return write_config(*this); }

namespace {

// What the two variants do differently (memory-mosaics-import.md); everything else is shared.
struct Variant {
  double norm_eps;         // k / (‖k‖ + eps)
  double scale_cap;        // cap on the exponent of a key scale exp(pow·10ρ): pow·5 (library) or ln 65535 (nano)
  bool cap_times_pow;      // library caps each factor at e^5, so the P-mem cap doubles with pow = 2
  bool logit_inv_sqrt_d;   // library divides the tied logits by √d
};

Variant variant_of(const MosaicConfig& c) {
  if (c.variant == MosaicVariant::kNano) return {1e-10, std::log(65535.0), false, false};
  return {1e-6, 5.0, true, true};
}


// Keys from a leaky average of the past: W x, leaky average with λ_h = e^{−10|θ_h|}, L2-normalise,
// scale by exp(min(pow·10ρ_h, cap)). Serves the C-mem keys (pow 1) and the P-mem queries (pow 2).
struct KeyFeaturizer : torch::nn::Module {
  KeyFeaturizer(const MosaicConfig& c, int scale_pow) : cfg(c), pow(scale_pow), var(variant_of(c)) {
    const int64_t d = c.n_embd, H = c.n_head;
    W_k = register_module("W_k", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(c.bias)));
    leak = register_parameter("leak", torch::linspace(0.05, 0.5, H));          // b_h = 10|θ| ∈ [0.5, 5]
    key_scale = register_parameter("key_scale", torch::full({H}, 0.1));        // s = e at init
  }

  torch::Tensor lambda() const { return torch::exp(-10.0 * leak.abs()); }
  torch::Tensor scale() const {
    const double cap = var.cap_times_pow ? pow * var.scale_cap : var.scale_cap;
    return torch::exp(torch::clamp_max(pow * 10.0 * key_scale, cap));
  }
  torch::Tensor normalise(const torch::Tensor& kbar) const {  // [..., H, dh]
    return scaled_normalise(kbar, scale(), var.norm_eps);
  }

  // x [B, T, d] -> [B, T, H, dh]
  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), T = x.size(1), H = cfg.n_head;
    auto k = W_k(x).view({B, T, H, cfg.n_embd / H});
    auto kbar = cfg.leaky_average == LeakyAverage::kScan ? leaky_average_scan(k, lambda()) : leaky_average_matrix(k, lambda());
    return normalise(kbar);
  }

  MosaicConfig cfg;
  int pow;
  Variant var;
  torch::nn::Linear W_k{nullptr};
  torch::Tensor leak, key_scale;
};

// Per-layer decoding state: the C-mem's finalised keys and values (a value is finalised one step
// late, when the next input arrives), its pending projection, and both leaky-average states.
struct LayerCache {
  torch::Tensor c_kbar, p_kbar;  // [B, H, dh]
  torch::Tensor keys, values;    // [B, H, capacity, dh]
  torch::Tensor pending_value;   // ṽ_{t−1} [B, H, dh]
};

struct MosaicState : DecodeState {
  std::vector<LayerCache> layers;
};

}  // namespace

// LayerNorm with a gain and, only in the nano variant, a bias (LibTorch's LayerNorm always has one).
struct MosaicNorm : torch::nn::Module {
  MosaicNorm(int64_t d, bool bias) {
    weight = register_parameter("weight", torch::ones({d}));
    if (bias) this->bias = register_parameter("bias", torch::zeros({d}));
  }
  torch::Tensor forward(const torch::Tensor& x) { return torch::layer_norm(x, {x.size(-1)}, weight, bias, 1e-5); }
  torch::Tensor weight, bias;
};

// Contextual associative memory (spec §2).
struct ContextMemory : torch::nn::Module {
  explicit ContextMemory(const MosaicConfig& c) : cfg(c), var(variant_of(c)) {
    const int64_t d = c.n_embd, H = c.n_head;
    keys = register_module("keys", std::make_shared<KeyFeaturizer>(c, 1));
    W_v = register_module("W_v", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(c.bias)));
    if (c.value_mix == ValueMix::kLearned) value_mix = register_parameter("value_mix", torch::rand({H}));  // γ ~ U(0,1)
    value_scale = register_parameter("value_scale", torch::full({H}, -0.05));  // a = e^{−0.5}
    c_proj = register_module("c_proj", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(c.bias)));
  }

  // v̄ = (1−γ) ṽ_next + γ ṽ_current; γ = 0 (a pure shift) without the learned mix.
  torch::Tensor mix(const torch::Tensor& next, const torch::Tensor& current) const {
    if (!value_mix.defined()) return next;
    auto g = value_mix.view({cfg.n_head, 1});
    return (1 - g) * next + g * current;
  }
  // a_h = e^{10 value_scale_h}, the values' per-head length
  torch::Tensor amplitude() const { return torch::exp(10.0 * value_scale); }
  // a_h · v̄ / ‖v̄‖ for v̄ [..., H, dh] (decoding; forward() does mix and normalise in lookahead_value)
  torch::Tensor normalise_value(const torch::Tensor& vbar) const {
    return scaled_normalise(vbar, amplitude(), var.norm_eps);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), T = x.size(1), H = cfg.n_head, dh = cfg.n_embd / H;
    auto k = keys->forward(x);                           // [B, T, H, dh]
    auto v_raw = W_v(x).view({B, T, H, dh});
    // look-ahead value: a_h · v̄_t / ‖v̄_t‖, v̄_t = (1−γ) ṽ_{t+1} + γ ṽ_t, with ṽ_T = 0
    auto v = lookahead_value(v_raw, value_mix, amplitude(), var.norm_eps);
    // Query t reads pairs j ≤ t−1 (strictly earlier: v_t holds x_{t+1}, the target); row 0 reads 0.
    // Kernel scale 1: the temperature is in the key scale s_h.
    SoftmaxReadOptions read;
    read.causal = true;
    read.shift = -1;
    read.dropout = is_training() ? cfg.attn_dropout : 0.0;
    read.seed = read.dropout > 0 ? torch_random64() : 0;
    auto kh = k.transpose(1, 2);                                         // [B, H, T, dh] views
    auto y = softmax_read(kh, kh, v.transpose(1, 2), read).transpose(1, 2);  // [B, T, H, dh] in memory
    return c_proj(y.reshape({B, T, cfg.n_embd}));
  }

  // One position: x [B, d] at position t = state.position.
  torch::Tensor step(const torch::Tensor& x, LayerCache& s, int64_t t) {
    const int64_t B = x.size(0), H = cfg.n_head, dh = cfg.n_embd / H;
    auto k_raw = keys->W_k(x).view({B, H, dh});
    s.c_kbar = t == 0 ? k_raw : k_raw + keys->lambda().view({H, 1}) * s.c_kbar;
    auto k = keys->normalise(s.c_kbar);
    auto v_raw = W_v(x).view({B, H, dh});
    reserve_along(s.keys, 2, t + 1);
    reserve_along(s.values, 2, t + 1);
    torch::Tensor y = torch::zeros({B, H, dh}, x.options());
    if (t >= 1) {
      s.values.select(2, t - 1).copy_(normalise_value(mix(v_raw, s.pending_value)));  // finalise v_{t−1}
      auto K = s.keys.narrow(2, 0, t), V = s.values.narrow(2, 0, t);
      auto w = torch::softmax(torch::matmul(K, k.unsqueeze(-1)).squeeze(-1), -1);  // [B, H, t]
      y = torch::matmul(w.unsqueeze(-2), V).squeeze(-2);
    }
    s.keys.select(2, t).copy_(k);
    s.pending_value = v_raw;
    return c_proj(y.reshape({B, cfg.n_embd}));
  }

  MosaicConfig cfg;
  Variant var;
  std::shared_ptr<KeyFeaturizer> keys;
  torch::nn::Linear W_v{nullptr}, c_proj{nullptr};
  torch::Tensor value_mix, value_scale;
};

// Persistent associative memory (spec §3): learned slots read with leaky-averaged queries.
struct PersistentMemory : torch::nn::Module {
  explicit PersistentMemory(const MosaicConfig& c) : cfg(c) {
    const int64_t d = c.n_embd, H = c.n_head, dh = d / H, P = c.slots();
    queries = register_module("queries", std::make_shared<KeyFeaturizer>(c, 2));
    P_k = register_parameter("P_k", torch::randn({c.pmem_count, H, P, dh}) / std::sqrt(static_cast<double>(dh)));
    P_v = register_parameter("P_v", torch::randn({c.pmem_count, H, P, dh}) / std::sqrt(static_cast<double>(dh)));
    out_scale = register_parameter("out_scale", torch::full({H}, -0.05));
    c_proj = register_module("c_proj", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(c.bias)));
  }

  // q [..., H, dh] (any leading dims) -> read-out [..., H, dh]
  torch::Tensor read(const torch::Tensor& q_heads_last) {
    auto q = q_heads_last.movedim(-2, 0);                  // [H, ..., dh]
    const auto lead = q.sizes().vec();
    auto qf = q.reshape({cfg.n_head, -1, q.size(-1)});     // [H, N, dh], a view of contiguous queries
    SoftmaxReadOptions read;
    read.dropout = is_training() ? cfg.pmem_dropout : 0.0;
    auto scale = (torch::exp(10.0 * out_scale) / static_cast<double>(cfg.pmem_count)).view({cfg.n_head, 1, 1});
    // The read is linear in the values, so the output scale can multiply whichever is smaller: the
    // slot values [H, P, dh] when there are more rows than slots (training batches), else the
    // read-out [H, N, dh] (decoding).
    const bool scale_values = qf.size(1) > P_v.size(2);
    torch::Tensor y;
    for (int64_t c = 0; c < cfg.pmem_count; ++c) {
      read.seed = read.dropout > 0 ? torch_random64() : 0;
      auto r = softmax_read(qf, P_k[c], scale_values ? P_v[c] * scale : P_v[c], read);
      y = y.defined() ? y + r : r;
    }
    if (!scale_values) y = y * scale;
    return y.reshape(lead).movedim(0, -2);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    const int64_t B = x.size(0), T = x.size(1);
    return c_proj(read(queries->forward(x)).reshape({B, T, cfg.n_embd}));
  }

  torch::Tensor step(const torch::Tensor& x, LayerCache& s, int64_t t) {
    const int64_t B = x.size(0), H = cfg.n_head;
    auto q_raw = queries->W_k(x).view({B, H, cfg.n_embd / H});
    s.p_kbar = t == 0 ? q_raw : q_raw + queries->lambda().view({H, 1}) * s.p_kbar;
    return c_proj(read(queries->normalise(s.p_kbar)).reshape({B, cfg.n_embd}));
  }

  MosaicConfig cfg;
  std::shared_ptr<KeyFeaturizer> queries;
  torch::Tensor P_k, P_v, out_scale;
  torch::nn::Linear c_proj{nullptr};
};

struct MemoryMosaic::Block : torch::nn::Module {
  explicit Block(const MosaicConfig& c) : cfg(c) {
    const int64_t d = c.n_embd;
    ln_1 = register_module("ln_1", std::make_shared<MosaicNorm>(d, c.bias));
    cmem = register_module("cmem", std::make_shared<ContextMemory>(c));
    if (c.ffn != MosaicFfn::kNone) ln_2 = register_module("ln_2", std::make_shared<MosaicNorm>(d, c.bias));
    if (c.ffn == MosaicFfn::kPmem) pmem = register_module("pmem", std::make_shared<PersistentMemory>(c));
    if (c.ffn == MosaicFfn::kMlp) {
      c_fc = register_module("c_fc", torch::nn::Linear(torch::nn::LinearOptions(d, 4 * d).bias(c.bias)));
      mlp_proj = register_module("mlp_proj", torch::nn::Linear(torch::nn::LinearOptions(4 * d, d).bias(c.bias)));
    }
  }

  torch::Tensor ffn(const torch::Tensor& h) {
    return pmem ? pmem->forward(h) : mlp_proj(torch::gelu(c_fc(h), "tanh"));
  }

  torch::Tensor forward(torch::Tensor x) {
    x = x + torch::dropout(cmem->forward(ln_1->forward(x)), cfg.resid_dropout, is_training());
    if (cfg.ffn != MosaicFfn::kNone)
      x = x + torch::dropout(ffn(ln_2->forward(x)), cfg.resid_dropout, is_training());
    return x;
  }

  torch::Tensor step(torch::Tensor x, LayerCache& s, int64_t t) {
    x = x + cmem->step(ln_1->forward(x), s, t);
    if (cfg.ffn == MosaicFfn::kPmem) x = x + pmem->step(ln_2->forward(x), s, t);
    if (cfg.ffn == MosaicFfn::kMlp) x = x + ffn(ln_2->forward(x));
    return x;
  }

  MosaicConfig cfg;
  std::shared_ptr<MosaicNorm> ln_1, ln_2;
  std::shared_ptr<ContextMemory> cmem;
  std::shared_ptr<PersistentMemory> pmem;
  torch::nn::Linear c_fc{nullptr}, mlp_proj{nullptr};
};

MemoryMosaic::MemoryMosaic(const MosaicConfig& config) : config_(config) {
  const auto& c = config_;
  wte_ = register_module("wte", torch::nn::Embedding(c.vocab_size, c.n_embd));
  auto list = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layer; ++i) {
    blocks_.push_back(std::make_shared<Block>(c));
    list->push_back(blocks_.back());
  }
  ln_f_ = register_module("ln_f", std::make_shared<MosaicNorm>(c.n_embd, c.bias));

  // Initialisation. library: every projection N(0, 1/fan_in), output projections N(0, 1/(fan_in·L)),
  // the tied embedding N(0, 1/d) (spec §4). nano: nanoGPT's N(0, 0.02²), c_proj 0.02/√(2L).
  // Slots and the per-head scalars were set where they were made.
  torch::NoGradGuard no_grad;
  const double d = static_cast<double>(c.n_embd), L = static_cast<double>(c.n_layer);
  const bool library = c.variant == MosaicVariant::kLibrary;
  for (auto& p : named_parameters()) {
    const std::string& name = p.key();
    auto& t = p.value();
    const bool is_proj = name.find("c_proj.weight") != std::string::npos || name.find("mlp_proj.weight") != std::string::npos;
    if (name.find(".bias") != std::string::npos && name.find("ln_") == std::string::npos) {
      t.zero_();
    } else if (name == "wte.weight") {
      t.normal_(0.0, library ? 1.0 / std::sqrt(d) : 0.02);
    } else if (t.dim() == 2) {  // Linear weights [out, in]
      const double fan_in = static_cast<double>(t.size(1));
      const double std = library ? 1.0 / std::sqrt(fan_in * (is_proj ? L : 1.0))
                                 : (is_proj ? 0.02 / std::sqrt(2.0 * L) : 0.02);
      t.normal_(0.0, std);
    }
  }
}

torch::Tensor MemoryMosaic::embed(const torch::Tensor& tokens) {
  if (tokens.dim() != 2) throw Error("mosaic: tokens must be [batch, time], got " + std::to_string(tokens.dim()) + " dims");
  return wte_(tokens);
}

torch::Tensor MemoryMosaic::hidden(const torch::Tensor& x) {
  auto h = x;
  for (auto& b : blocks_) h = b->forward(h);
  return ln_f_->forward(h);
}

OutputHead MemoryMosaic::head() const {
  return {wte_->weight, variant_of(config_).logit_inv_sqrt_d ? 1.0 / std::sqrt(static_cast<double>(config_.n_embd)) : 1.0};
}

std::unique_ptr<DecodeState> MemoryMosaic::init_state(int64_t batch) {
  auto s = std::make_unique<MosaicState>();
  const int64_t H = config_.n_head, dh = config_.n_embd / H;
  auto opts = wte_->weight.options();
  for (int64_t i = 0; i < config_.n_layer; ++i) {
    LayerCache c;
    c.keys = torch::zeros({batch, H, 64, dh}, opts);
    c.values = torch::zeros({batch, H, 64, dh}, opts);
    s->layers.push_back(c);
  }
  return s;
}

torch::Tensor MemoryMosaic::step(DecodeState& state, const torch::Tensor& token) {
  auto* s = dynamic_cast<MosaicState*>(&state);
  if (!s) throw Error("mosaic: step() was given a decode state made by another model");
  auto x = wte_(token.view({-1}));
  for (size_t i = 0; i < blocks_.size(); ++i) x = blocks_[i]->step(x, s->layers[i], state.position);
  state.position += 1;
  return logits(ln_f_->forward(x));
}

MosaicInferenceWeights MemoryMosaic::inference_weights() const {
  torch::NoGradGuard no_grad;
  auto plain = [](const torch::Tensor& t) { return t.defined() ? t.detach().to(torch::kFloat).contiguous() : t; };
  auto weight = [&](const torch::nn::Linear& l) { return plain(l->weight); };
  auto bias = [&](const torch::nn::Linear& l) { return l->options.bias() ? plain(l->bias) : torch::Tensor(); };
  MosaicInferenceWeights w;
  const Variant var = variant_of(config_);
  w.norm_eps = var.norm_eps;
  w.logit_scale = head().scale;
  w.wte = plain(wte_->weight);
  w.ln_f_w = plain(ln_f_->weight);
  w.ln_f_b = plain(ln_f_->bias);
  for (const auto& b : blocks_) {
    MosaicInferenceWeights::Block o;
    o.ln_1_w = plain(b->ln_1->weight);
    o.ln_1_b = plain(b->ln_1->bias);
    const auto& c = *b->cmem;
    o.key_W = weight(c.keys->W_k);
    o.key_b = bias(c.keys->W_k);
    o.key_lambda = plain(c.keys->lambda());
    o.key_scale = plain(c.keys->scale());
    o.value_W = weight(c.W_v);
    o.value_b = bias(c.W_v);
    if (c.value_mix.defined()) o.value_mix = plain(c.value_mix);
    o.value_amp = plain(c.amplitude());
    o.cmem_proj_W = weight(c.c_proj);
    o.cmem_proj_b = bias(c.c_proj);
    if (b->ln_2) {
      o.ln_2_w = plain(b->ln_2->weight);
      o.ln_2_b = plain(b->ln_2->bias);
    }
    if (b->pmem) {
      const auto& p = *b->pmem;
      o.query_W = weight(p.queries->W_k);
      o.query_b = bias(p.queries->W_k);
      o.query_lambda = plain(p.queries->lambda());
      o.query_scale = plain(p.queries->scale());
      o.slot_keys = plain(p.P_k);
      o.slot_values = plain(p.P_v);
      o.read_amp = plain(torch::exp(10.0 * p.out_scale) / static_cast<double>(config_.pmem_count));
      o.pmem_proj_W = weight(p.c_proj);
      o.pmem_proj_b = bias(p.c_proj);
    }
    if (b->c_fc) {
      o.fc_W = weight(b->c_fc);
      o.fc_b = bias(b->c_fc);
      o.mlp_proj_W = weight(b->mlp_proj);
      o.mlp_proj_b = bias(b->mlp_proj);
    }
    w.blocks.push_back(std::move(o));
  }
  return w;
}

ModelDescription MemoryMosaic::describe() const {
  const auto& c = config_;
  ModelDescription d;
  d.type = "mosaic";
  d.parameters = count_parameters(const_cast<MemoryMosaic&>(*this));
  d.context = c.block_size;
  const double D = static_cast<double>(c.n_embd), T = static_cast<double>(c.block_size);
  // C-mem: W_k, W_v, c_proj and retrieval (scores + mixing over T pairs); P-mem: W_k, c_proj and
  // two products with the P slots per bank; MLP: 8d².
  double per_layer = 2 * 3 * D * D + 4 * T * D;
  if (c.ffn == MosaicFfn::kPmem) per_layer += 2 * 2 * D * D + 4 * c.pmem_count * static_cast<double>(c.slots()) * D;
  if (c.ffn == MosaicFfn::kMlp) per_layer += 2 * 8 * D * D;
  d.flops_per_token = c.n_layer * per_layer + 2 * D * c.vocab_size;
  d.summary = "mosaic " + std::to_string(c.n_layer) + "x" + std::to_string(c.n_embd) + ", " +
              std::to_string(c.n_head) + " heads, ffn " + name_of(c.ffn) + (c.ffn == MosaicFfn::kPmem ? " (" + std::to_string(c.slots()) + " slots)" : "") +
              ", " + name_of(c.variant);
  return d;
}

}  // namespace engram
