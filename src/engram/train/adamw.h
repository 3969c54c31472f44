// AdamW (Loshchilov & Hutter) with decoupled weight decay and two parameter groups.
//
// Written out rather than taken from torch::optim so that its whole state (moments and step) is a
// list of named tensors that a safetensors checkpoint holds, and resuming is exact.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace engram {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.95, eps = 1e-8;
  double weight_decay = 0.1;
  bool decay_all = false;  // also decay biases and gains (optax's default, used by the RTC policies)
};

class AdamW {
 public:
  // Matrices and embeddings (dim >= 2) are decayed; biases and norm gains are not (nanoGPT's rule)
  // unless config.decay_all. `lr_scale` (one factor per parameter, or empty for all 1) multiplies
  // the learning rate each parameter is stepped with, its weight decay included.
  AdamW(const std::vector<std::pair<std::string, torch::Tensor>>& named_parameters, const AdamWConfig& config,
        const std::vector<double>& lr_scale = {});

  void step(double lr);
  void zero_grad();

  // State as named tensors ("exp_avg.<param>", "exp_avg_sq.<param>", "step") and back.
  std::vector<std::pair<std::string, torch::Tensor>> state() const;
  // Throws engram::Error naming the tensor when something is missing or has the wrong shape.
  void load_state(const std::vector<std::pair<std::string, torch::Tensor>>& state, const std::string& where);

 private:
  struct Slot {
    std::string name;
    torch::Tensor param, exp_avg, exp_avg_sq;
    bool decay;
    double lr_scale;
  };
  std::vector<Slot> slots_;
  AdamWConfig config_;
  int64_t step_ = 0;
};

// Scales gradients so their global L2 norm is at most max_norm (no-op when max_norm <= 0).
// Returns the norm before clipping.
double clip_grad_norm(const std::vector<torch::Tensor>& parameters, double max_norm);

// Linear warm-up to lr over `warmup` steps, then cosine decay to min_lr at `total`.
double cosine_lr(int64_t step, int64_t warmup, int64_t total, double lr, double min_lr);

}  // namespace engram
