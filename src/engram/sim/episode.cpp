#include "engram/sim/episode.h"

#include <random>

namespace engram {

uint64_t episode_seed(uint64_t seed, int64_t index) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32), static_cast<uint32_t>(index),
                    static_cast<uint32_t>(static_cast<uint64_t>(index) >> 32)};
  uint64_t out[1];
  seq.generate(reinterpret_cast<uint32_t*>(out), reinterpret_cast<uint32_t*>(out) + 2);
  return out[0];
}

int episode_style(uint64_t seed, int64_t index, int styles) {
  std::mt19937_64 rng(episode_seed(seed, index) ^ 0x5717E5ull);
  return static_cast<int>(std::uniform_int_distribution<int>(0, styles - 1)(rng));
}

}  // namespace engram
