// The memory mosaic (seq/mosaic.h) one token at a time, from MosaicInferenceWeights. Per block:
// the C-mem's leaky-averaged key, its value finalised one step late (it looks one step ahead) and
// a Nadaraya–Watson read of the earlier pairs; then the P-mem's leaky-averaged query reading the
// slot banks, or the MLP. Mirrors MemoryMosaic::step() operation for operation.
#include "engram/runtime/mosaic_decoder.h"

#include <cmath>

#include <ATen/Parallel.h>

#include "engram/runtime/head_cache.h"
#include "engram/runtime/helper_thread.h"
#include "engram/runtime/ops.h"
#include "engram/runtime/weights.h"
#include "engram/seq/mosaic.h"

namespace engram {
namespace {

struct Layer {
  Buffer ln_1_w, ln_1_b, key_W, key_b, key_lambda, key_scale, value_W, value_b, value_mix, value_amp, cmem_W, cmem_b;
  Buffer ln_2_w, ln_2_b, query_W, query_b, query_lambda, query_scale, slot_keys, slot_values, read_amp, pmem_W, pmem_b;
  Buffer fc_W, fc_b, mlp_W, mlp_b;
  // decoding state
  Buffer key_avg, query_avg, pending_value;  // [d] each
  HeadCache keys, values;
};

class MosaicDecoder : public Decoder {
 public:
  explicit MosaicDecoder(const MemoryMosaic& model) {
    const auto& c = model.mosaic_config();
    const auto w = model.inference_weights();
    V_ = c.vocab_size;
    d_ = c.n_embd;
    H_ = c.n_head;
    dh_ = d_ / H_;
    banks_ = c.pmem_count;
    slots_ = c.slots();
    eps_ = static_cast<float>(w.norm_eps);
    logit_scale_ = static_cast<float>(w.logit_scale);
    wte_ = pack(w.wte);
    ln_f_w_ = pack(w.ln_f_w);
    ln_f_b_ = pack(w.ln_f_b);
    for (const auto& b : w.blocks) {
      Layer l;
      l.ln_1_w = pack(b.ln_1_w), l.ln_1_b = pack(b.ln_1_b);
      l.key_W = pack(b.key_W), l.key_b = pack(b.key_b), l.key_lambda = pack(b.key_lambda), l.key_scale = pack(b.key_scale);
      l.value_W = pack(b.value_W), l.value_b = pack(b.value_b), l.value_mix = pack(b.value_mix);
      l.value_amp = pack(b.value_amp);
      l.cmem_W = pack(b.cmem_proj_W), l.cmem_b = pack(b.cmem_proj_b);
      l.ln_2_w = pack(b.ln_2_w), l.ln_2_b = pack(b.ln_2_b);
      l.query_W = pack(b.query_W), l.query_b = pack(b.query_b), l.query_lambda = pack(b.query_lambda);
      l.query_scale = pack(b.query_scale);
      l.slot_keys = pack(b.slot_keys), l.slot_values = pack(b.slot_values), l.read_amp = pack(b.read_amp);
      l.pmem_W = pack(b.pmem_proj_W), l.pmem_b = pack(b.pmem_proj_b);
      l.fc_W = pack(b.fc_W), l.fc_b = pack(b.fc_b), l.mlp_W = pack(b.mlp_proj_W), l.mlp_b = pack(b.mlp_proj_b);
      hidden_ = b.fc_W.defined() ? b.fc_W.size(0) : 0;
      layers_.push_back(std::move(l));
    }
    x_.resize(d_), h_.resize(d_), k_.resize(d_), v_.resize(d_), read_.resize(d_), part_.resize(d_), out_.resize(d_);
    ff_.resize(std::max<int64_t>(hidden_, 1));
    logits_.resize(V_);
    slot_scores_.resize(H_ * slots_);  // a row per head: the heads' reads run on two threads
    reset();
  }

  void reset() override {
    position_ = 0;
    for (auto& l : layers_) {
      l.key_avg.assign(d_, 0.0f);
      l.query_avg.assign(d_, 0.0f);
      l.pending_value.assign(d_, 0.0f);
      l.keys = HeadCache(H_, dh_);
      l.values = HeadCache(H_, dh_);
    }
  }

  int64_t vocab_size() const override { return V_; }
  double state_bytes() const override { return 4.0 * 2 * static_cast<double>(layers_.size() * position_ * d_); }

  const float* step(int64_t token) override {
    if (token < 0 || token >= V_) throw Error("decoder: token " + std::to_string(token) + " is outside the vocabulary");
    const int64_t t = position_;
    std::copy_n(wte_.data() + token * d_, d_, x_.data());
    scores_.resize(static_cast<size_t>(H_ * std::max<int64_t>(t, 1)));  // a row per head, as for the slots
    for (auto& l : layers_) {
      // contextual memory
      ops::layer_norm(x_.data(), l.ln_1_w.data(), data_or_null(l.ln_1_b), h_.data(), d_, 1e-5f);
      leaky_key(l.key_W, l.key_b, l.key_lambda, l.key_scale, l.key_avg, t, k_.data());
      matvec(helper_, l.value_W.data(), data_or_null(l.value_b), h_.data(), v_.data(), d_, d_);
      l.keys.reserve(t + 1);
      l.values.reserve(t + 1);
      std::fill_n(read_.data(), d_, 0.0f);
      if (t >= 1) {
        for (int64_t h = 0; h < H_; ++h) {  // v_{t−1} = a · v̄/‖v̄‖, v̄ = (1−γ)ṽ_t + γ ṽ_{t−1}
          const float g = l.value_mix.empty() ? 0.0f : l.value_mix[h];
          float* vh = l.values.row(h, t - 1);
          for (int64_t e = 0; e < dh_; ++e)
            vh[e] = (1 - g) * v_[h * dh_ + e] + g * l.pending_value[h * dh_ + e];
          const float s = l.value_amp[h] / (std::sqrt(ops::sum_squares(vh, dh_)) + eps_);
          for (int64_t e = 0; e < dh_; ++e) vh[e] *= s;
        }
        helper_.split(H_, 1, [&](int64_t first, int64_t last) {
          for (int64_t h = first; h < last; ++h)
            ops::softmax_read_one(k_.data() + h * dh_, l.keys.head(h), dh_, l.values.head(h), dh_, t, dh_, dh_, 1.0f,
                                  scores_.data() + h * t, read_.data() + h * dh_);
        });
      }
      l.keys.put(t, k_.data());
      std::copy_n(v_.data(), d_, l.pending_value.data());
      matvec(helper_, l.cmem_W.data(), data_or_null(l.cmem_b), read_.data(), out_.data(), d_, d_);
      ops::add(x_.data(), out_.data(), d_);
      // persistent memory or MLP
      if (!l.slot_keys.empty()) {
        ops::layer_norm(x_.data(), l.ln_2_w.data(), data_or_null(l.ln_2_b), h_.data(), d_, 1e-5f);
        leaky_key(l.query_W, l.query_b, l.query_lambda, l.query_scale, l.query_avg, t, k_.data());
        std::fill_n(read_.data(), d_, 0.0f);
        helper_.split(H_, 1, [&](int64_t first, int64_t last) {  // the heads' slot banks, 2 MB a block
          for (int64_t h = first; h < last; ++h)
            for (int64_t c = 0; c < banks_; ++c) {
              const int64_t bank = (c * H_ + h) * slots_ * dh_;
              ops::softmax_read_one(k_.data() + h * dh_, l.slot_keys.data() + bank, dh_, l.slot_values.data() + bank,
                                    dh_, slots_, dh_, dh_, 1.0f, slot_scores_.data() + h * slots_,
                                    part_.data() + h * dh_);
              ops::add(read_.data() + h * dh_, part_.data() + h * dh_, dh_);
            }
        });
        for (int64_t h = 0; h < H_; ++h)
          for (int64_t e = 0; e < dh_; ++e) read_[h * dh_ + e] *= l.read_amp[h];
        matvec(helper_, l.pmem_W.data(), data_or_null(l.pmem_b), read_.data(), out_.data(), d_, d_);
        ops::add(x_.data(), out_.data(), d_);
      } else if (!l.fc_W.empty()) {
        ops::layer_norm(x_.data(), l.ln_2_w.data(), data_or_null(l.ln_2_b), h_.data(), d_, 1e-5f);
        matvec(helper_, l.fc_W.data(), data_or_null(l.fc_b), h_.data(), ff_.data(), hidden_, d_);
        ops::gelu_tanh(ff_.data(), ff_.data(), hidden_);
        matvec(helper_, l.mlp_W.data(), data_or_null(l.mlp_b), ff_.data(), out_.data(), d_, hidden_);
        ops::add(x_.data(), out_.data(), d_);
      }
    }
    ops::layer_norm(x_.data(), ln_f_w_.data(), data_or_null(ln_f_b_), h_.data(), d_, 1e-5f);
    matvec(helper_, wte_.data(), nullptr, h_.data(), logits_.data(), V_, d_);
    if (logit_scale_ != 1.0f)
      for (auto& z : logits_) z *= logit_scale_;
    ++position_;
    return logits_.data();
  }

 private:
  // key = s_h · k̄/(‖k̄‖ + eps) per head, k̄_t = W h + λ_h k̄_{t−1} (k̄_0 = W h): the leaky average
  // of the projected inputs, advanced by one position in `avg`.
  void leaky_key(const Buffer& W, const Buffer& b, const Buffer& lambda, const Buffer& scale, Buffer& avg, int64_t t,
                 float* key) {
    matvec(helper_, W.data(), data_or_null(b), h_.data(), key, d_, d_);
    for (int64_t h = 0; h < H_; ++h) {
      float* a = avg.data() + h * dh_;
      const float* k = key + h * dh_;
      const float lam = t == 0 ? 0.0f : lambda[h];
      for (int64_t e = 0; e < dh_; ++e) a[e] = k[e] + lam * a[e];
      const float s = scale[h] / (std::sqrt(ops::sum_squares(a, dh_)) + eps_);
      for (int64_t e = 0; e < dh_; ++e) key[h * dh_ + e] = s * a[e];
    }
  }

  int64_t V_, d_, H_, dh_, banks_, slots_, hidden_ = 0;
  float eps_, logit_scale_;
  Buffer wte_, ln_f_w_, ln_f_b_;
  std::vector<Layer> layers_;
  Buffer x_, h_, k_, v_, read_, part_, out_, ff_, logits_, scores_, slot_scores_;
  HelperThread helper_{at::get_num_threads() > 1};
};

}  // namespace

std::unique_ptr<Decoder> make_mosaic_decoder(const MemoryMosaic& model) { return std::make_unique<MosaicDecoder>(model); }

}  // namespace engram
