#include "engram/seq/atlas.h"

#include <algorithm>
#include <cmath>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/memory/feature_map.h"
#include "engram/memory/inner_loop.h"

namespace engram {

const Names<Retention>& names_of(Retention) {
  static const Names<Retention> names = {{"learned", Retention::kLearned}, {"none", Retention::kNone}};
  return names;
}

AtlasConfig AtlasConfig::from_json(const nlohmann::json& j, const std::string& where) {
  ConfigReader c(j, where);
  AtlasConfig a;
  a.fields(c);
  c.finish();
  c.require_divisible("n_embd", a.n_embd, "n_head", a.n_head);
  if (a.memory == MemoryKind::kMlp && a.feature_map == FeatureKind::kPolynomial && a.degree > 3 && a.n_embd / a.n_head > 16)
    throw Error("config " + c.path("degree") + " = " + std::to_string(a.degree) + " with head size " +
                std::to_string(a.n_embd / a.n_head) + " gives a feature map too large for this machine");
  return a;
}

nlohmann::json AtlasConfig::to_json() const { return write_config(*this); }

namespace {

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) {
  return x * torch::rsqrt(x.square().mean(-1, true) + 1e-6) * weight;
}

double logit(double p) { return std::log(p / (1 - p)); }

// Per-layer decoding state: the inner loop's state and the last conv-width − 1 projections.
struct LayerState {
  InnerLoopState memory;
  torch::Tensor conv_history;  // [B, conv − 1, 3d] (q, k, v before the convolution)
};

struct AtlasState : DecodeState {
  std::vector<LayerState> layers;
};

}  // namespace

struct Atlas::Block : torch::nn::Module {
  Block(const AtlasConfig& c, int64_t layer) : cfg(c), index(layer), dh(c.n_embd / c.n_head) {
    const int64_t d = c.n_embd, H = c.n_head;
    norm_1 = register_parameter("norm_1", torch::ones({d}));
    norm_2 = register_parameter("norm_2", torch::ones({d}));
    qkv = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(d, 3 * d).bias(false)));
    if (c.conv > 0) conv = register_parameter("conv", torch::zeros({3 * d, 1, c.conv}));
    // γ, η, α, θ per head from one full-rank linear (the paper draws a low-rank pair; at these
    // widths d·4H is already small).
    gates = register_module("gates", torch::nn::Linear(torch::nn::LinearOptions(d, 4 * H)));
    features = register_module("features", std::make_shared<FeatureMap>(c.feature_map, dh, c.degree));
    InnerMemoryConfig mc;
    mc.kind = c.memory;
    mc.input_dim = features->output_dim();
    mc.output_dim = dh;
    mc.hidden = c.memory_expansion * dh;
    mc.residual = c.memory == MemoryKind::kMlp;  // M(x) = x + …: the degree-1 block of φ(k) (spec §3.4)
    mc.layer_norm = c.memory_norm;
    mc.objective = c.objective;
    memory = std::make_shared<InnerMemory>(mc);
    for (const auto& [rows, cols] : memory->shapes()) {
      const double bound = std::sqrt(6.0 / static_cast<double>(rows + cols));  // Xavier-uniform
      m0.push_back(register_parameter("m0_" + std::to_string(m0.size()), torch::empty({H, rows, cols}).uniform_(-bound, bound)));
    }
    if (c.memory_norm) memory_gain = register_parameter("memory_gain", torch::zeros({H, dh}));
    head_norm = register_parameter("head_norm", torch::ones({dh}));
    out_gate = register_module("out_gate", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
    c_proj = register_module("c_proj", torch::nn::Linear(torch::nn::LinearOptions(d, d).bias(false)));
    const int64_t ffn = 8 * d / 3;
    w_gate = register_module("w_gate", torch::nn::Linear(torch::nn::LinearOptions(d, ffn).bias(false)));
    w_up = register_module("w_up", torch::nn::Linear(torch::nn::LinearOptions(d, ffn).bias(false)));
    w_down = register_module("w_down", torch::nn::Linear(torch::nn::LinearOptions(ffn, d).bias(false)));
    loop.optimizer = c.optimizer;
    loop.mode = c.mode;
    loop.window = c.window;
    loop.chunk = c.chunk;
    loop.ns_steps = c.ns_steps;
    loop.dual_form = c.dual_form;

    torch::NoGradGuard no_grad;
    if (conv.defined()) conv.select(2, c.conv - 1).fill_(1.0);  // starts as the identity
    // Gate biases: γ ≈ 0.88, η = eta_max/2, α ≈ 0.99 (weak forgetting), θ = theta_init (0.9, spec §5.3).
    gates->weight.normal_(0.0, 0.02);
    auto b = gates->bias.view({4, H});
    b[0].fill_(2.0);
    b[1].fill_(0.0);
    b[2].fill_(logit(0.99));
    b[3].fill_(logit(c.theta_init));
  }

  LayerState fresh_state(int64_t B, const torch::TensorOptions& opts) const {
    LayerState s;
    s.memory = initial_inner_state(*memory, m0, B * cfg.n_head);
    if (cfg.conv > 1) s.conv_history = torch::zeros({B, cfg.conv - 1, 3 * cfg.n_embd}, opts);
    return s;
  }

  // The token mixer on x [B, T, d], continuing `s`.
  torch::Tensor mix(const torch::Tensor& x, LayerState& s) {
    const int64_t B = x.size(0), T = x.size(1), H = cfg.n_head, d = cfg.n_embd;
    auto proj = qkv(x);  // [B, T, 3d]
    if (conv.defined()) {
      auto padded = cfg.conv > 1 ? torch::cat({s.conv_history, proj}, 1) : proj;
      if (cfg.conv > 1) s.conv_history = padded.narrow(1, padded.size(1) - (cfg.conv - 1), cfg.conv - 1);
      proj = torch::conv1d(padded.transpose(1, 2), conv, torch::Tensor(), torch::IntArrayRef{1}, torch::IntArrayRef{0},
                           torch::IntArrayRef{1}, 3 * d).transpose(1, 2);  // causal, depthwise
    }
    proj = torch::silu(proj);
    // [B, T, 3d] -> three [B·H, T, dh], heads contiguous in the channel dimension
    auto heads = [&](const torch::Tensor& t) { return t.view({B, T, H, dh}).permute({0, 2, 1, 3}).reshape({B * H, T, dh}); };
    auto q = heads(proj.narrow(2, 0, d)), k = heads(proj.narrow(2, d, d)), v = heads(proj.narrow(2, 2 * d, d));
    q = q / (q.norm(2, -1, true) + 1e-6);
    k = k / (k.norm(2, -1, true) + 1e-6);
    auto g = torch::sigmoid(gates(x)).view({B, T, 4, H}).permute({2, 0, 3, 1}).reshape({4, B * H, T});  // [4, N, T]

    InnerLoopInputs in;
    torch::Tensor gain;
    if (memory_gain.defined()) gain = (1 + memory_gain).unsqueeze(0).expand({B, H, dh}).reshape({B * H, 1, dh});
    const bool residual = cfg.memory == MemoryKind::kMlp;
    in.keys = {features->forward(k), v, residual ? features->linear_part(k) : torch::Tensor(), gain};
    in.queries = features->forward(q);
    if (residual) in.query_residual = features->linear_part(q);
    in.gamma = g[0];
    in.eta = cfg.eta_max * g[1];
    in.alpha = cfg.retention == Retention::kLearned ? g[2] : torch::ones_like(g[2]);
    in.theta = g[3];
    auto y = run_inner_loop(*memory, loop, in, s.memory);  // [N, T, dh]
    check_finite(y.view({B, H, T, dh}), s.memory.position - T);
    y = rms_norm(y, head_norm).view({B, H, T, dh}).permute({0, 2, 1, 3}).reshape({B, T, d});
    return c_proj(y * torch::silu(out_gate(x)));
  }

  // A diverging inner loop (too large a step size) is reported where it happens, not as a NaN loss:
  // the layer, the first position (0-based, from the start of the stream) whose read-out is not
  // finite and the first head diverged there — the same report from forward() and from step().
  void check_finite(const torch::Tensor& reads, int64_t first_position) const {
    auto bad = torch::isfinite(reads).all(-1).logical_not();  // [B, H, T]
    if (!bad.any().item<bool>()) return;
    const int64_t t = bad.any(1).any(0).nonzero()[0].item<int64_t>();
    const int64_t h = bad.select(2, t).any(0).nonzero()[0].item<int64_t>();
    throw Error("atlas: the memory of layer " + std::to_string(index) + ", head " + std::to_string(h) +
                " diverged at position " + std::to_string(first_position + t) + " (non-finite read-out); lower model.eta_max (now " +
                std::to_string(cfg.eta_max) + ") or use a retention gate");
  }

  torch::Tensor forward(torch::Tensor x, LayerState& s) {
    x = x + mix(rms_norm(x, norm_1), s);
    auto h = rms_norm(x, norm_2);
    return x + w_down(torch::silu(w_gate(h)) * w_up(h));
  }

  AtlasConfig cfg;
  int64_t index, dh;
  torch::Tensor norm_1, norm_2, conv, memory_gain, head_norm;
  std::vector<torch::Tensor> m0;
  torch::nn::Linear qkv{nullptr}, gates{nullptr}, out_gate{nullptr}, c_proj{nullptr}, w_gate{nullptr}, w_up{nullptr},
      w_down{nullptr};
  std::shared_ptr<FeatureMap> features;
  std::shared_ptr<InnerMemory> memory;
  InnerLoopConfig loop;
};

Atlas::Atlas(const AtlasConfig& config) : config_(config) {
  const auto& c = config_;
  wte_ = register_module("wte", torch::nn::Embedding(c.vocab_size, c.n_embd));
  auto list = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.n_layer; ++i) {
    blocks_.push_back(std::make_shared<Block>(c, i));
    list->push_back(blocks_.back());
  }
  ln_f_ = register_parameter("ln_f", torch::ones({c.n_embd}));
  torch::NoGradGuard no_grad;
  wte_->weight.normal_(0.0, 0.02);
  for (auto& b : blocks_) {
    for (auto* lin : {&b->qkv, &b->out_gate, &b->w_gate, &b->w_up}) (*lin)->weight.normal_(0.0, 0.02);
    for (auto* lin : {&b->c_proj, &b->w_down}) (*lin)->weight.normal_(0.0, 0.02 / std::sqrt(2.0 * c.n_layer));
  }
}

torch::Tensor Atlas::embed(const torch::Tensor& tokens) {
  if (tokens.dim() != 2) throw Error("atlas: tokens must be [batch, time], got " + std::to_string(tokens.dim()) + " dims");
  return wte_(tokens);
}

torch::Tensor Atlas::hidden(const torch::Tensor& x) {
  auto h = x;
  for (auto& b : blocks_) {
    auto s = b->fresh_state(x.size(0), x.options());
    h = b->forward(h, s);
  }
  return rms_norm(h, ln_f_);
}

OutputHead Atlas::head() const { return {wte_->weight}; }

std::unique_ptr<DecodeState> Atlas::init_state(int64_t batch) {
  auto s = std::make_unique<AtlasState>();
  for (auto& b : blocks_) s->layers.push_back(b->fresh_state(batch, wte_->weight.options()));
  return s;
}

torch::Tensor Atlas::step(DecodeState& state, const torch::Tensor& token) {
  auto& s = dynamic_cast<AtlasState&>(state);
  auto h = wte_(token.view({-1, 1}));
  for (size_t i = 0; i < blocks_.size(); ++i) h = blocks_[i]->forward(h, s.layers[i]);
  ++s.position;
  return logits(rms_norm(h, ln_f_)).squeeze(1);
}

ModelDescription Atlas::describe() const {
  const auto& c = config_;
  ModelDescription d;
  d.type = "atlas";
  d.parameters = count_parameters(const_cast<Atlas&>(*this));
  d.context = c.block_size;
  const double D = static_cast<double>(c.n_embd);
  const auto& mem = *blocks_.front()->memory;
  double fast = 0;  // fast-weight floats per head
  for (const auto& [r, k] : mem.shapes()) fast += static_cast<double>(r * k);
  // Per token and layer: projections (q, k, v, output gate, output) and SwiGLU; per head, the read
  // (2·|θ_M|) and an inner step: the memory's gradient factors over the window and the outer
  // products (≈ 4·|θ_M| per window token) and, for muon, the Newton–Schulz rounds on the momentum.
  // Mode P steps every token on c tokens; mode B once per block of b on max(c, b). Approximate.
  double per_layer = 2 * 5 * D * D + 2 * 3 * D * static_cast<double>(8 * c.n_embd / 3);
  const bool block = c.mode == InnerMode::kBlock;
  double step = 4 * static_cast<double>(block ? std::max(c.window, c.chunk) : c.window) * fast;
  if (c.optimizer == InnerOptimizer::kMuon) step += static_cast<double>(c.ns_steps) * 6 * fast * static_cast<double>(c.n_embd / c.n_head);
  const double memory = 2 * fast + step / static_cast<double>(block ? c.chunk : 1);
  d.flops_per_token = c.n_layer * (per_layer + c.n_head * memory) + 2 * D * c.vocab_size;
  d.summary = "atlas " + std::to_string(c.n_layer) + "x" + std::to_string(c.n_embd) + ", " + std::to_string(c.n_head) +
              " heads, " + name_of(c.memory) + " memory, " + name_of(c.feature_map) +
              (c.feature_map == FeatureKind::kPolynomial ? std::to_string(c.degree) : "") + ", " + name_of(c.optimizer) +
              ", c=" + std::to_string(c.window) + ", mode " + name_of(c.mode) + " b=" + std::to_string(c.chunk);
  return d;
}

}  // namespace engram
