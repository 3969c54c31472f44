// Sampling action chunks from a FlowPolicy (RTC spec §2.2, §3): plain Euler integration from noise,
// and real-time chunking — inpainting a new chunk so that it agrees with the actions of the previous
// chunk that will run anyway, by ΠGDM guidance adapted to flow matching with a soft mask.
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "engram/core/config.h"
#include "engram/policy/flow_policy.h"

namespace engram {

// n Euler steps at τ = k/n, k = 0…n−1, from `noise` [B, H, M]; never evaluates τ = 1.
torch::Tensor sample_chunk(FlowPolicy& policy, const torch::Tensor& obs, const torch::Tensor& noise, int steps);

// Guidance weights W_0…W_{H−1} for delay d and execution horizon s (spec §3.3): 1 on the frozen
// prefix i < d, 0 from H − s on, and in between "exp" (the paper's Eq. 5), "linear", "zeros" (the
// hard mask) or "ones".
enum class MaskSchedule { kExp, kLinear, kZeros, kOnes };
const Names<MaskSchedule>& names_of(MaskSchedule);
std::vector<double> rtc_mask(int horizon, int delay, int shift, MaskSchedule schedule);

// γ_τ = min(β, (τ² + (1 − τ)²) / (τ(1 − τ))), and β at τ = 0 (spec §3.2).
double guidance_weight(double tau, double beta);

struct RtcOptions {
  int steps = 5;
  double beta = 5.0;               // the clip on γ_τ
  MaskSchedule schedule = MaskSchedule::kExp;
};

// One RTC chunk. `previous` [B, H − s, M] holds the not-yet-executed actions of the previous chunk,
// aligned to the new chunk's indices 0…H−s−1; `delay` of them will run before the new chunk
// arrives. The guidance is the policy's guided_velocity (autograd unless the network has its own).
torch::Tensor rtc_sample_chunk(FlowPolicy& policy, const torch::Tensor& obs, const torch::Tensor& noise,
                               const torch::Tensor& previous, int delay, int shift, const RtcOptions& options);

}  // namespace engram
