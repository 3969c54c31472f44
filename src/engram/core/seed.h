// Seeding and the state of LibTorch's global CPU generator (weight init, dropout), so that runs are
// reproducible and a resumed run continues the same random stream.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace engram {

void seed_everything(uint64_t seed);
torch::Tensor torch_rng_state();             // uint8 tensor, opaque
void set_torch_rng_state(const torch::Tensor& state);

// 64-bit mixing of a seed and a counter (splitmix64), the root of every engram random stream.
uint64_t mix_seed(uint64_t seed, uint64_t counter);

// 64 random bits from that generator, for kernels that draw their own randomness (dropout masks).
uint64_t torch_random64();

}  // namespace engram
