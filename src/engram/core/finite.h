// Refusing NaN and Inf where they come in from outside (weights, data): one NaN read into a model
// poisons every later number, so it is an error that names the tensor.
#pragma once

#include <string>

#include <torch/types.h>

namespace engram {

// Throws engram::Error "<where> holds non-finite values (NaN or Inf)" for a floating-point
// tensor with any such value; integer tensors always pass.
void require_finite(const torch::Tensor& t, const std::string& where);

}  // namespace engram
