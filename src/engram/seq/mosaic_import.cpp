#include "engram/seq/mosaic_import.h"

#include <map>
#include <set>

#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/core/finite.h"
#include "engram/core/torch_file.h"

namespace engram {
namespace {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& s) { return c10::str(c10::IntArrayRef(s)); }

class StateDict {
 public:
  StateDict(std::vector<std::pair<std::string, torch::Tensor>> entries, std::string source) : source_(std::move(source)) {
    for (auto& [k, t] : entries) {
      const std::string key = k.rfind("_orig_mod.", 0) == 0 ? k.substr(10) : k;
      tensors_[key] = t;
    }
  }

  bool has(const std::string& key) const { return tensors_.count(key) > 0; }

  // The tensor under `key`, which must have `shape`; marks it used.
  torch::Tensor take(const std::string& key, const Shape& shape) {
    auto it = tensors_.find(key);
    if (it == tensors_.end()) throw Error(source_ + ": key '" + key + "' is missing");
    if (it->second.sizes().vec() != shape)
      throw Error(source_ + ": key '" + key + "' has shape " + shape_str(it->second.sizes().vec()) + ", expected " + shape_str(shape));
    require_finite(it->second, source_ + ": key '" + key + "'");
    used_.insert(key);
    return it->second;
  }

  Shape shape(const std::string& key) const {
    auto it = tensors_.find(key);
    if (it == tensors_.end()) throw Error(source_ + ": key '" + key + "' is missing; not a nanoMosaics MemoryMosaic state dict?");
    return it->second.sizes().vec();
  }

  void check_all_used() const {
    for (const auto& [k, t] : tensors_)
      if (!used_.count(k)) throw Error(source_ + ": unknown key '" + k + "' (shape " + shape_str(t.sizes().vec()) + ")");
  }

  size_t size() const { return tensors_.size(); }
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  std::map<std::string, torch::Tensor> tensors_;
  std::set<std::string> used_;
};

MosaicConfig infer_config(const StateDict& sd, const PyRef& model_args) {
  MosaicConfig c;
  c.variant = MosaicVariant::kNano;
  c.value_mix = ValueMix::kLearned;
  c.ffn = MosaicFfn::kPmem;
  const Shape wte = sd.shape("mosaic.wte.weight");
  if (wte.size() != 2) throw Error(sd.source() + ": key 'mosaic.wte.weight' must be 2-D (vocab, n_embd)");
  c.vocab_size = wte[0];
  c.n_embd = wte[1];
  c.n_layer = 0;
  while (sd.has("mosaic.h." + std::to_string(c.n_layer) + ".ln_1.weight")) ++c.n_layer;
  if (c.n_layer == 0) throw Error(sd.source() + ": key 'mosaic.h.0.ln_1.weight' is missing; no blocks");
  const Shape scale = sd.shape("mosaic.h.0.attn.k_featurizer.key_scale");
  if (scale.size() != 4) throw Error(sd.source() + ": key 'mosaic.h.0.attn.k_featurizer.key_scale' must be (1, n_head, 1, 1)");
  c.n_head = scale[1];
  if (c.n_head < 1 || c.n_embd % c.n_head) throw Error(sd.source() + ": n_embd " + std::to_string(c.n_embd) + " is not divisible by n_head " + std::to_string(c.n_head));
  const Shape mask = sd.shape("mosaic.h.0.attn.bias");
  if (mask.size() != 4) throw Error(sd.source() + ": key 'mosaic.h.0.attn.bias' must be the (1, 1, T, T) causal mask");
  c.block_size = mask[3];
  const Shape pk = sd.shape("mosaic.h.0.mlp.P_k");
  if (pk.size() != 5) throw Error(sd.source() + ": key 'mosaic.h.0.mlp.P_k' must be (pmem_count, 1, n_head, P, head_dim)");
  c.pmem_count = pk[0];
  c.pmem_size = pk[3];
  c.bias = sd.has("mosaic.h.0.ln_1.bias");
  // nanoMosaics has one dropout knob for every site.
  double dropout = 0.0;
  if (model_args && model_args->get("dropout") && model_args->get("dropout")->kind == PyValue::Kind::Float)
    dropout = model_args->get("dropout")->number;
  c.attn_dropout = c.pmem_dropout = c.resid_dropout = dropout;
  return c;
}

// The causal-mask buffer: true where query t may read key j, i.e. j ≤ t − 1.
void check_mask(const torch::Tensor& mask, int64_t T, const std::string& where) {
  auto expected = torch::ones({T, T}, torch::kBool).tril(-1).view({1, 1, T, T});
  if (!torch::equal(mask.to(torch::kBool), expected))
    throw Error(where + " is not the strictly lower-triangular causal mask the nano variant uses");
}

// The leaky-average exponent buffer: −(t − s) on and below the diagonal.
void check_coef(const torch::Tensor& coef, int64_t T, const std::string& where) {
  auto t = torch::arange(T, torch::kFloat64);
  auto expected = -(t.view({T, 1}) - t.view({1, T})).tril();
  auto got = coef.to(torch::kFloat64).tril();
  if (!torch::allclose(got, expected)) throw Error(where + " is not the leaky-average exponent table −(t − s)");
}

}  // namespace

ImportedMosaic import_nano_mosaic(const std::string& path) {
  PyRef root = read_torch_file(path);
  PyRef state = root;
  PyRef model_args;
  if (root->kind == PyValue::Kind::Dict && root->get("model") && root->get("model")->kind == PyValue::Kind::Dict) {
    state = root->get("model");  // nanoMosaics' train.py checkpoint
    model_args = root->get("model_args");
  }
  StateDict sd(tensor_dict(*state, path), path);

  ImportedMosaic out;
  out.config = infer_config(sd, model_args);
  const MosaicConfig& c = out.config;
  const int64_t V = c.vocab_size, d = c.n_embd, H = c.n_head, dh = d / H, T = c.block_size, P = c.pmem_size;
  out.model = std::make_shared<MemoryMosaic>(c);

  std::map<std::string, torch::Tensor> params;
  for (const auto& p : out.model->named_parameters()) params[p.key()] = p.value();
  torch::NoGradGuard no_grad;
  auto put = [&](const std::string& name, const torch::Tensor& t) {
    auto it = params.find(name);
    if (it == params.end()) throw Error("internal: engram mosaic has no parameter " + name);
    it->second.copy_(t.reshape(it->second.sizes()).to(torch::kFloat32));
    params.erase(it);
  };
  const Shape per_head{1, H, 1, 1};
  auto linear = [&](const std::string& from, const std::string& to) {
    put(to + ".weight", sd.take(from + ".weight", {d, d}));
    if (c.bias) put(to + ".bias", sd.take(from + ".bias", {d}));
  };
  auto norm = [&](const std::string& from, const std::string& to) {
    put(to + ".weight", sd.take(from + ".weight", {d}));
    if (c.bias) put(to + ".bias", sd.take(from + ".bias", {d}));
  };
  auto featurizer = [&](const std::string& from, const std::string& to) {
    linear(from + ".W_k", to + ".W_k");
    put(to + ".key_scale", sd.take(from + ".key_scale", per_head));
    put(to + ".leak", sd.take(from + ".leaky_avg.leaky_key_beta", per_head));
    check_coef(sd.take(from + ".leaky_avg.coef", {T, T}), T, path + ": key '" + from + ".leaky_avg.coef'");
  };

  auto wte = sd.take("mosaic.wte.weight", {V, d});
  put("wte.weight", wte);
  if (!torch::equal(sd.take("lm_head.weight", {V, d}), wte))
    throw Error(path + ": key 'lm_head.weight' differs from 'mosaic.wte.weight'; engram's mosaic ties them");
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string from = "mosaic.h." + std::to_string(i) + ".", to = "blocks." + std::to_string(i) + ".";
    norm(from + "ln_1", to + "ln_1");
    check_mask(sd.take(from + "attn.bias", {1, 1, T, T}), T, path + ": key '" + from + "attn.bias'");
    featurizer(from + "attn.k_featurizer", to + "cmem.keys");
    linear(from + "attn.v_featurizer.W_v", to + "cmem.W_v");
    put(to + "cmem.value_mix", sd.take(from + "attn.v_featurizer.coef", per_head));
    put(to + "cmem.value_scale", sd.take(from + "attn.v_featurizer.val_scale", per_head));
    linear(from + "attn.c_proj", to + "cmem.c_proj");
    norm(from + "ln_2", to + "ln_2");
    featurizer(from + "mlp.k_featurizer", to + "pmem.queries");
    put(to + "pmem.P_k", sd.take(from + "mlp.P_k", {c.pmem_count, 1, H, P, dh}));
    put(to + "pmem.P_v", sd.take(from + "mlp.P_v", {c.pmem_count, 1, H, P, dh}));
    put(to + "pmem.out_scale", sd.take(from + "mlp.out_scale", per_head));
    linear(from + "mlp.c_proj", to + "pmem.c_proj");
  }
  norm("mosaic.ln_f", "ln_f");
  sd.check_all_used();
  if (!params.empty()) throw Error("internal: engram mosaic parameter " + params.begin()->first + " was not imported");
  out.tensors = static_cast<int64_t>(sd.size());
  return out;
}

}  // namespace engram
