// ATLAS E1 (spec §4.3, §16.4): how many key–value pairs a memory stores, with no outer training.
//  (a) least squares of a linear memory on φ_p: exact recall up to N = rank of φ_p on the unit
//      sphere, C(d_k + p, p) − C(d_k + p − 2, p − 2) (the paper's C(d_k + p, p) less the
//      dependencies that ‖k‖ = 1 creates);
//  (b) streaming: one inner step per arriving pair (the inner loop of memory/inner_loop.h) with an
//      Omega window c, then every stored pair is queried — how much a window helps online storage;
//  (c) depth: linear memories on φ_1 and φ_2 against depth-2 and depth-3 memories on φ_1 with about
//      the weights of the linear one on φ_2, each fitted to all pairs by Adam (representational
//      capacity, the paper's Theorem 1);
//  (d) needle survival: a pair written first, then a repeating haystack streamed through GD or
//      Muon into a linear or an MLP memory — is the needle still recalled (why Muon stops ATLAS
//      extrapolating on NIAH)?
//  (e) the inner optimisers (GD, momentum, Muon with k = 1, 3, 5) fitting a linear memory on φ_2 to
//      all pairs at once, each at its best step size (spec E1(b): does Muon fit faster?).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engram/core/config.h"

namespace engram {

struct CapacityOptions {
  std::string out = "runs/capacity";
  int64_t key_dim = 8;                     // d_k (keys uniform on the unit sphere)
  int64_t value_dim = 16;                  // values N(0, I)
  std::vector<int64_t> degrees{1, 2, 3};   // polynomial feature maps for (a)
  std::vector<int64_t> windows{1, 4, 16};  // Omega windows for (b)
  int64_t trials = 8;                      // independent memories averaged
  int64_t depth_steps = 3000;              // Adam steps per fit in (c); 0 skips (c)
  int64_t needle_key_dim = 16;             // (d): unit keys in R^16, a model head's size
  int64_t haystack_pairs = 8;              // (d): the pairs a repeated haystack cycles through
  std::vector<int64_t> haystack_lengths{4, 16, 64, 256, 1024};  // (d): needle recall measured after these
  std::vector<double> needle_step_scales{0.1, 0.3, 1.0};         // (d): η as a multiple of an exact one-step write
  int64_t fit_steps = 300;                 // (e): full-batch steps per fit; 0 skips (e)
  uint64_t seed = 0;
  bool plots = true;
  bool brief = false;  // tables keep the rows a newcomer reads first (needle: the middle step size only)

  // The experiment's settings (not where it writes or what it prints).
  template <class F>
  void fields(F& f) {
    f.field("key_dim", key_dim, 2, 16, "key dimension d_k");
    f.field("value_dim", value_dim, 1, 256, "value dimension");
    f.field("degrees", degrees, 1, 4, "polynomial degrees of (a)");
    f.field("windows", windows, 1, 256, "Omega windows of (b)");
    f.field("trials", trials, 1, 1024, "independent memories averaged");
    f.field("depth_steps", depth_steps, 0, 1000000, "Adam steps per fit of the depth comparison (0 skips it)");
    f.field("needle_key_dim", needle_key_dim, 2, 64, "(d): key dimension of the needle test");
    f.field("haystack_pairs", haystack_pairs, 1, 4096, "(d): pairs the repeated haystack cycles through");
    f.field("haystack_lengths", haystack_lengths, 1, 1 << 20, "(d): haystack lengths the needle is recalled after");
    f.field("needle_step_scales", needle_step_scales, 1e-6, 100.0, "(d): step sizes as multiples of an exact write");
    f.field("fit_steps", fit_steps, 0, 1000000, "full-batch steps per fit of the optimiser comparison (0 skips it)");
    f.field("seed", seed, 0, INT64_MAX, "random seed");
  }
};

// Runs (a), (b), (c) (unless depth_steps is 0), (d) and (e) (unless fit_steps is 0), prints tables, writes <out>/results.json and plots. Returns the results.
nlohmann::json run_capacity(const CapacityOptions& options);

}  // namespace engram
