// E2 of the Memory Mosaics plan (spec §6.1, §13.2): train the three-moons memory with 1 and with 3
// heads and measure predictive disentanglement — how soon (in context length) each can predict
// the moons by autoregressive generation, on the training systems and on the held-out one, and
// whether the 3-head key projection becomes a permutation (one moon per head).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engram/core/config.h"

#include <nlohmann/json.hpp>

namespace engram {

struct ThreeMoonsOptions {
  std::string out = "runs/three-moons";
  std::vector<int64_t> heads{1, 3};
  int64_t steps = 500;
  int64_t batch = 64;
  int64_t block = 800;           // training window (steps)
  double lr = 1e-2, final_lr = 5e-6;  // linear decay
  uint64_t seed = 100;
  int64_t eval_sequences = 128;  // random windows per split
  int64_t eval_every = 10;       // context lengths 1, e, 2e, … < block − horizon
  int64_t horizon = 25;          // generated steps scored per context length
  bool verbose = true;

  // The experiment's settings (not where it writes or how much it prints).
  template <class F>
  void fields(F& f) {
    f.field("heads", heads, 1, 3, "head counts to train (each divides 3)");
    f.field("steps", steps, 1, 1 << 24, "training iterations");
    f.field("batch", batch, 1, 1 << 16, "windows per iteration");
    f.field("block", block, 30, 4000, "window length in steps");
    f.field("lr", lr, 1e-8, 10.0, "peak learning rate");
    f.field("final_lr", final_lr, 0.0, 10.0, "learning rate at the last step (linear decay)");
    f.field("seed", seed, 0, INT64_MAX, "random seed");
    f.field("eval_sequences", eval_sequences, 1, 1 << 16, "windows per evaluation split");
    f.field("eval_every", eval_every, 1, 1000, "spacing of the context lengths evaluated");
    f.field("horizon", horizon, 1, 1000, "generated steps scored per context length");
  }
};

// Trains and evaluates every head count; writes <out>/results.json, <out>/memory-<H>heads.safetensors
// and plots (<out>/generation-error-{held-out,train}.png, <out>/loss.png); prints a table.
// Returns the results JSON.
nlohmann::json run_three_moons(const ThreeMoonsOptions& options);

// Redraws the generation-error plots into `out` from a results.json that run_three_moons wrote.
void plot_three_moons(const nlohmann::json& results, const std::string& out);

}  // namespace engram
