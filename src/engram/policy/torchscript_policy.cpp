#include "engram/policy/torchscript_policy.h"

#include <torch/torch.h>

#include "engram/core/error.h"

namespace engram {

namespace {

// TorchScript's errors carry a multi-line traceback; its last line says what went wrong.
std::string last_line(const std::string& what) {
  auto end = what.find_last_not_of("\n ");
  if (end == std::string::npos) return what;
  const auto start = what.rfind('\n', end);
  return what.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

}  // namespace

TorchScriptPolicy::TorchScriptPolicy(const std::string& path) : path_(path) {
  try {
    module_ = torch::jit::load(path, torch::kCPU);
  } catch (const c10::Error& e) {  // its what() ends in a C++ backtrace
    throw Error("torchscript policy " + path + ": cannot load it as a TorchScript module (" + last_line(e.what_without_backtrace()) + ")");
  } catch (const std::exception& e) {
    throw Error("torchscript policy " + path + ": cannot load it as a TorchScript module (" + last_line(e.what()) + ")");
  }
  module_.eval();
  auto attribute = [&](const char* name) -> int64_t {
    if (!module_.hasattr(name) || !module_.attr(name).isInt())
      throw Error("torchscript policy " + path + ": needs an integer attribute '" + name + "' (horizon, action_dim, obs_dim)");
    const int64_t v = module_.attr(name).toInt();
    if (v < 1) throw Error("torchscript policy " + path + ": attribute '" + name + "' must be ≥ 1, is " + std::to_string(v));
    return v;
  };
  horizon_ = attribute("horizon");
  action_dim_ = attribute("action_dim");
  obs_dim_ = attribute("obs_dim");
  torch::NoGradGuard no_grad;
  const auto probe = velocity(torch::zeros({2, horizon_, action_dim_}), torch::zeros({2, obs_dim_}), torch::full({2}, 0.5));
  if (probe.sizes() != torch::IntArrayRef({2, horizon_, action_dim_}))
    throw Error("torchscript policy " + path + ": forward returned " + c10::str(probe.sizes()) + " for a [2, " +
                std::to_string(horizon_) + ", " + std::to_string(action_dim_) + "] chunk; it must return the velocity of the same shape");
}

torch::Tensor TorchScriptPolicy::velocity(const torch::Tensor& noisy_chunk, const torch::Tensor& obs, const torch::Tensor& tau) {
  try {
    return module_.forward({noisy_chunk, obs, tau}).toTensor();
  } catch (const c10::Error& e) {
    throw Error("torchscript policy " + path_ + ": forward(noisy_chunk " + c10::str(noisy_chunk.sizes()) + ", obs " +
                c10::str(obs.sizes()) + ", tau " + c10::str(tau.sizes()) + ") failed: " + last_line(e.what_without_backtrace()));
  } catch (const std::exception& e) {
    throw Error("torchscript policy " + path_ + ": forward(noisy_chunk " + c10::str(noisy_chunk.sizes()) + ", obs " +
                c10::str(obs.sizes()) + ", tau " + c10::str(tau.sizes()) + ") failed: " + last_line(e.what()));
  }
}

}  // namespace engram
