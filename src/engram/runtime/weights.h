// Weights copied out of LibTorch tensors into plain float buffers, for the decoders.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "engram/core/error.h"

namespace engram {

using Buffer = std::vector<float>;

// The tensor's values in row-major order (empty for an undefined tensor).
inline Buffer pack(const torch::Tensor& t) {
  if (!t.defined()) return {};
  auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  return Buffer(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// The named parameter of a module (named_parameters() key), packed; throws if it is missing.
inline Buffer pack_parameter(const torch::OrderedDict<std::string, torch::Tensor>& params, const std::string& name,
                             bool required = true) {
  if (const auto* t = params.find(name)) return pack(*t);
  if (required) throw Error("decoder: the model has no parameter '" + name + "'");
  return {};
}

// null for an empty buffer (an absent bias)
inline const float* data_or_null(const Buffer& b) { return b.empty() ? nullptr : b.data(); }

}  // namespace engram
