// Flow matching in the convention of the KI spec §3 (openpi's): t = 1 is noise, t = 0 is data,
// x_t = t·ε + (1 − t)·a, target velocity u = ε − a. Training times follow the shifted Beta of π0,
// t = 0.001 + 0.999·B with B ~ Beta(1.5, 1) drawn as U^(2/3) (its CDF is x^1.5), E[t] ≈ 0.600.
// Sampling integrates from ε at t = 1 with N Euler steps of δ = −1/N.
#pragma once

#include <functional>

#include <torch/types.h>

namespace engram::ki {

torch::Tensor sample_flow_time(int64_t batch, at::Generator& generator);

// N Euler steps x ← x − v(x, t)/N from `noise` at t = 1 down to t = 0; v sees t as [B].
torch::Tensor euler_sample(const std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t)>& velocity,
                           const torch::Tensor& noise, int steps);

}  // namespace engram::ki
