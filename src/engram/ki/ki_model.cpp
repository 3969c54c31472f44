#include "engram/ki/ki_model.h"

#include <cmath>

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/ki/ki_mask.h"

namespace engram::ki {

namespace F = torch::nn::functional;

torch::Tensor rms(const torch::Tensor& x) { return x * torch::rsqrt(x.pow(2).mean(-1, true) + 1e-6); }

torch::Tensor rope(const torch::Tensor& x, const torch::Tensor& positions) {
  const int64_t d = x.size(-1), half = d / 2;
  const auto inv = torch::pow(10000.0, -2.0 * torch::arange(half, torch::kFloat64) / static_cast<double>(d)).to(torch::kFloat32);
  const auto angle = positions.to(torch::kFloat32).unsqueeze(-1) * inv;  // [B, N, half]
  const auto cos = angle.cos().unsqueeze(1), sin = angle.sin().unsqueeze(1);
  const auto x1 = x.slice(-1, 0, half), x2 = x.slice(-1, half);
  return torch::cat({x1 * cos - x2 * sin, x2 * cos + x1 * sin}, -1);
}

torch::Tensor masked_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, const torch::Tensor& mask) {
  const auto allowed = mask.unsqueeze(1);                        // [B, 1, Nq, Nk]
  auto scores = torch::matmul(q, k.transpose(-1, -2));           // [B, h, Nq, Nk]
  scores = scores.masked_fill(allowed.logical_not(), -1e30);
  const auto p = torch::softmax(scores, -1) * allowed.any(-1, true).to(scores.dtype());
  const auto out = torch::matmul(p, v);                          // [B, h, Nq, d]
  return out.transpose(1, 2).reshape({q.size(0), q.size(2), q.size(1) * q.size(3)});
}

KiModel::Group KiModel::make_group(const std::string& name, int64_t width, int64_t ffn, bool adaptive) {
  const int64_t h = config_.heads, d = config_.head_dim;
  auto linear = [&](const std::string& part, int64_t in, int64_t out) {
    return register_module(name + "_" + part, torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false)));
  };
  Group g;
  g.q = linear("q", width, h * d);
  g.k = linear("k", width, d);
  g.v = linear("v", width, d);
  g.o = linear("o", h * d, width);
  g.gate = linear("gate", width, ffn);
  g.up = linear("up", width, ffn);
  g.down = linear("down", ffn, width);
  if (adaptive) {
    auto ada = [&](const std::string& part) {
      auto m = register_module(name + "_" + part, torch::nn::Linear(width, 3 * width));
      torch::NoGradGuard no_grad;
      m->weight.zero_();
      m->bias.zero_();
      return m;
    };
    g.ada_attn = ada("ada_attn");
    g.ada_ffn = ada("ada_ffn");
  } else {
    g.attn_scale = register_parameter(name + "_attn_scale", torch::zeros({width}));
    g.ffn_scale = register_parameter(name + "_ffn_scale", torch::zeros({width}));
  }
  return g;
}

KiModel::KiModel(const KiModelConfig& c) : config_(c) {
  if (c.vocab < 1) throw Error("KI model: the vocabulary size is not set");
  if (c.head_dim % 2) throw Error("KI model: head_dim must be even for rotary positions");
  embed_ = register_module("backbone_embed", torch::nn::Embedding(c.vocab, c.width));
  {
    torch::NoGradGuard no_grad;
    embed_->weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(c.width)));
  }
  object_xy_ = register_module("backbone_object_xy", torch::nn::Linear(2, c.width));
  for (int64_t l = 0; l < c.depth; ++l) backbone_.push_back(make_group("backbone" + std::to_string(l), c.width, c.ffn, false));
  final_scale_ = register_parameter("backbone_final_scale", torch::zeros({c.width}));
  if (c.shared_weights && !c.expert) throw Error("KI model: shared_weights needs action tokens (expert = true)");
  if (c.expert) {
    const int64_t w = c.shared_weights ? c.width : c.expert_width;  // the action stream's width
    if (w % 2)
      throw Error(std::string("KI model: ") + (c.shared_weights ? "width" : "expert_width") + " = " + std::to_string(w) +
                  " must be even (the action stream's sine and cosine time features)");
    if (!c.shared_weights)
      for (int64_t l = 0; l < c.depth; ++l)
        expert_.push_back(make_group("expert" + std::to_string(l), c.expert_width, c.expert_ffn, true));
    action_in_ = register_module("expert_in", torch::nn::Linear(c.action_dim, w));
    time1_ = register_module("expert_time1", torch::nn::Linear(w, w));
    time2_ = register_module("expert_time2", torch::nn::Linear(w, w));
    if (!c.shared_weights) {
      ada_final_ = register_module("expert_final_ada", torch::nn::Linear(w, 3 * w));
      torch::NoGradGuard no_grad;
      ada_final_->weight.zero_();
      ada_final_->bias.zero_();
    }
    action_out_ = register_module("expert_out", torch::nn::Linear(w, c.action_dim));
    // Periods log-spaced from 4·10⁻³ to 4 (spec §2.3), both ends included.
    const int64_t half = w / 2;
    const auto i = torch::arange(half, torch::kFloat64) / static_cast<double>(std::max<int64_t>(1, half - 1));
    time_periods_ = register_buffer("expert_time_periods", (4e-3 * torch::pow(1000.0, i)).to(torch::kFloat32));
  }
}

torch::Tensor KiModel::embed_prefix(const PrefixInput& p) {
  const double scale = std::sqrt(static_cast<double>(config_.width));
  const auto x = embed_->forward(p.ids) * scale;
  const int64_t K = p.object_words.size(1);
  const auto words = embed_->forward(p.object_words);  // [B, K, 2, W]
  const auto objects = (words.select(2, 0) + words.select(2, 1)) * scale + object_xy_->forward(p.object_xy);
  return torch::cat({x.slice(1, 0, 1), objects, x.slice(1, 1 + K)}, 1);
}

torch::Tensor KiModel::time_condition(const torch::Tensor& t) {
  const auto angle = 2 * M_PI * t.to(torch::kFloat32).unsqueeze(1) / time_periods_;
  const auto phi = torch::cat({angle.sin(), angle.cos()}, 1);
  return torch::silu(time2_->forward(torch::silu(time1_->forward(phi))));
}

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> KiModel::qkv(Group& g, const torch::Tensor& x,
                                                                    const torch::Tensor& positions) {
  const int64_t B = x.size(0), N = x.size(1), h = config_.heads, d = config_.head_dim;
  const auto q = rope(g.q->forward(x).view({B, N, h, d}).transpose(1, 2), positions) / std::sqrt(static_cast<double>(d));
  const auto k = rope(g.k->forward(x).view({B, N, 1, d}).transpose(1, 2), positions);
  const auto v = g.v->forward(x).view({B, N, 1, d}).transpose(1, 2);
  return {q, k, v};
}

torch::Tensor KiModel::ffn(Group& g, const torch::Tensor& x) {
  return g.down->forward(F::gelu(g.gate->forward(x), F::GELUFuncOptions().approximate("tanh")) * g.up->forward(x));
}

namespace {
// adaRMSNorm's (scale, shift, gate), each [B, 1, W].
std::vector<torch::Tensor> modulation(torch::nn::Linear ada, const torch::Tensor& c) {
  auto parts = ada->forward(c).unsqueeze(1).chunk(3, -1);
  return {parts[0], parts[1], parts[2]};
}
}  // namespace

torch::Tensor KiModel::action_embed(const torch::Tensor& noisy_actions, const torch::Tensor& c) {
  const auto x = action_in_->forward(noisy_actions);
  return config_.shared_weights ? x + c.unsqueeze(1) : x;
}

torch::Tensor KiModel::action_layer(size_t l, const torch::Tensor& xa, const torch::Tensor& c, const torch::Tensor& kb,
                                    const torch::Tensor& vb, const torch::Tensor& mask, const torch::Tensor& positions) {
  if (config_.shared_weights) {
    Group& b = backbone_[l];
    auto [q, k, v] = qkv(b, rms(xa) * (1 + b.attn_scale), positions);
    const auto x = xa + b.o->forward(masked_attention(q, torch::cat({kb, k}, 2), torch::cat({vb, v}, 2), mask));
    return x + ffn(b, rms(x) * (1 + b.ffn_scale));
  }
  Group& e = expert_[l];
  const auto m = modulation(e.ada_attn, c);
  auto [q, k, v] = qkv(e, rms(xa) * (1 + m[0]) + m[1], positions);
  const auto x = xa + m[2] * e.o->forward(masked_attention(q, torch::cat({kb, k}, 2), torch::cat({vb, v}, 2), mask));
  const auto mf = modulation(e.ada_ffn, c);
  return x + mf[2] * ffn(e, rms(x) * (1 + mf[0]) + mf[1]);
}

torch::Tensor KiModel::action_velocity(const torch::Tensor& xa, const torch::Tensor& c) {
  if (config_.shared_weights) return action_out_->forward(rms(xa) * (1 + final_scale_));
  const auto m = modulation(ada_final_, c);
  return action_out_->forward(rms(xa) * (1 + m[0]) + m[1]);
}

TrainOutputs KiModel::forward(const PrefixInput& prefix, const torch::Tensor& fast_ids, const torch::Tensor& fast_valid,
                              const torch::Tensor& noisy_actions, const torch::Tensor& t, const ForwardOptions& options) {
  const int64_t H = config_.horizon;
  const auto masks = ki_masks(prefix.valid, fast_valid, H, options.action_sees_fast);
  auto xb = torch::cat({embed_prefix(prefix), embed_->forward(fast_ids) * std::sqrt(static_cast<double>(config_.width))}, 1);
  const bool actions = config_.expert && noisy_actions.defined();
  torch::Tensor xa, c;
  if (actions) {
    c = time_condition(t);
    xa = action_embed(noisy_actions, c);
  }
  for (int64_t l = 0; l < config_.depth; ++l) {
    Group& b = backbone_[static_cast<size_t>(l)];
    auto [qb, kb, vb] = qkv(b, rms(xb) * (1 + b.attn_scale), masks.backbone_positions);
    const auto ob = masked_attention(qb, kb, vb, masks.backbone);
    // The stop-gradient of spec §5.4: the expert's rows read the backbone's K/V as constants.
    if (actions)
      xa = action_layer(static_cast<size_t>(l), xa, c, options.stop_gradient ? kb.detach() : kb,
                        options.stop_gradient ? vb.detach() : vb, masks.action, masks.action_positions);
    xb = xb + b.o->forward(ob);
    xb = xb + ffn(b, rms(xb) * (1 + b.ffn_scale));
  }
  TrainOutputs out;
  out.backbone_hidden = rms(xb) * (1 + final_scale_);
  out.logits = torch::matmul(out.backbone_hidden, embed_->weight.t());
  if (actions) out.velocity = action_velocity(xa, c);
  return out;
}

torch::Tensor KiModel::language_logits(const torch::Tensor& ids, const torch::Tensor& valid, const torch::Tensor& prefix_length) {
  const auto mask = prefix_lm_mask(valid, prefix_length);
  const auto positions = (valid.to(torch::kLong).cumsum(1) - 1).clamp_min(0);
  auto x = embed_->forward(ids) * std::sqrt(static_cast<double>(config_.width));
  for (Group& b : backbone_) {
    auto [q, k, v] = qkv(b, rms(x) * (1 + b.attn_scale), positions);
    x = x + b.o->forward(masked_attention(q, k, v, mask));
    x = x + ffn(b, rms(x) * (1 + b.ffn_scale));
  }
  return torch::matmul(rms(x) * (1 + final_scale_), embed_->weight.t());
}

PrefixCache KiModel::encode_prefix(const PrefixInput& prefix) {
  const int64_t B = prefix.ids.size(0);
  const auto masks = ki_masks(prefix.valid, torch::zeros({B, 0}, torch::kBool), 0);
  auto x = embed_prefix(prefix);
  PrefixCache cache;
  for (Group& b : backbone_) {
    auto [q, k, v] = qkv(b, rms(x) * (1 + b.attn_scale), masks.backbone_positions);
    cache.keys.push_back(k);
    cache.values.push_back(v);
    x = x + b.o->forward(masked_attention(q, k, v, masks.backbone));
    x = x + ffn(b, rms(x) * (1 + b.ffn_scale));
  }
  cache.valid = prefix.valid;
  cache.next_position = prefix.valid.to(torch::kLong).sum(1);
  const auto last = (cache.next_position - 1).clamp_min(0);
  cache.last_hidden = (rms(x) * (1 + final_scale_)).index({torch::arange(B), last});
  return cache;
}

torch::Tensor KiModel::velocity(const PrefixCache& cache, const torch::Tensor& noisy_actions, const torch::Tensor& t) {
  if (!config_.expert) throw Error("KI model: this model has no action expert (recipe R2 decodes FAST tokens instead)");
  const int64_t B = noisy_actions.size(0), H = noisy_actions.size(1), N = cache.valid.size(1);
  const auto positions = cache.next_position.unsqueeze(1) + torch::arange(H).unsqueeze(0);
  const auto mask = torch::cat({cache.valid.unsqueeze(1).expand({B, H, N}), torch::ones({B, H, H}, torch::kBool)}, 2);
  const auto c = time_condition(t);
  auto xa = action_embed(noisy_actions, c);
  for (size_t l = 0; l < backbone_.size(); ++l) xa = action_layer(l, xa, c, cache.keys[l], cache.values[l], mask, positions);
  return action_velocity(xa, c);
}

torch::Tensor KiModel::decode_step(PrefixCache& cache, const torch::Tensor& ids) {
  const int64_t B = ids.size(0);
  const auto positions = cache.next_position.unsqueeze(1);
  cache.valid = torch::cat({cache.valid, torch::ones({B, 1}, torch::kBool)}, 1);
  const auto mask = cache.valid.unsqueeze(1);  // [B, 1, N + 1]
  auto x = embed_->forward(ids.unsqueeze(1)) * std::sqrt(static_cast<double>(config_.width));
  for (size_t l = 0; l < backbone_.size(); ++l) {
    Group& b = backbone_[l];
    auto [q, k, v] = qkv(b, rms(x) * (1 + b.attn_scale), positions);
    cache.keys[l] = torch::cat({cache.keys[l], k}, 2);
    cache.values[l] = torch::cat({cache.values[l], v}, 2);
    x = x + b.o->forward(masked_attention(q, cache.keys[l], cache.values[l], mask));
    x = x + ffn(b, rms(x) * (1 + b.ffn_scale));
  }
  cache.next_position = cache.next_position + 1;
  cache.last_hidden = (rms(x) * (1 + final_scale_)).squeeze(1);
  return torch::matmul(cache.last_hidden, embed_->weight.t());
}

std::vector<torch::Tensor> KiModel::backbone_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : named_parameters())
    if (p.key().rfind("backbone", 0) == 0) out.push_back(p.value());
  return out;
}

std::vector<torch::Tensor> KiModel::expert_parameters() const {
  std::vector<torch::Tensor> out;
  for (const auto& p : named_parameters())
    if (p.key().rfind("expert", 0) == 0) out.push_back(p.value());
  return out;
}

std::vector<torch::Tensor> KiModel::expert_gates(const torch::Tensor& t) {
  std::vector<torch::Tensor> gates;
  if (!config_.expert) return gates;
  const auto c = time_condition(t);
  for (Group& e : expert_) {
    gates.push_back(modulation(e.ada_attn, c)[2]);
    gates.push_back(modulation(e.ada_ffn, c)[2]);
  }
  return gates;
}

}  // namespace engram::ki
