// ATLAS E1 as a check: a linear memory on φ_p stores exactly as many pairs as φ_p has rank on
// the key sphere (the paper's Prop. 1/2, less the ‖k‖ = 1 dependencies), and an Omega window
// helps streaming storage; a deeper memory stores more than a linear one on the same features; a
// needle keyed apart from a haystack survives GD and momentum-free Muon in a linear memory, and
// Muon's momentum destroys it; the inner optimisers fit a well-posed global objective.
#include <gtest/gtest.h>

#include "engram/experiments/capacity_experiment.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

TEST(Capacity, KneeAtTheFeatureDimensionAndWindowsHelp) {
  testing::TempDir dir;
  CapacityOptions o;
  o.out = dir.file("capacity");
  o.degrees = {1, 2};
  o.windows = {1, 16};
  o.trials = 3;
  o.depth_steps = 1000;
  o.haystack_lengths = {16, 256};
  o.needle_step_scales = {0.3};
  o.fit_steps = 100;
  o.plots = false;
  const auto r = run_capacity(o);
  for (const char* p : {"1", "2"}) {
    const auto& ls = r["least_squares"][p];
    const int64_t rank = ls["rank"].get<int64_t>();
    for (const auto& point : ls["curve"]) {
      const int64_t n = point["pairs"].get<int64_t>();
      const double err = point["relative_error"].get<double>();
      if (n <= rank) EXPECT_LT(err, 1e-8) << "p " << p << ", " << n << " pairs";
      else EXPECT_GT(err, 1e-4) << "p " << p << ", " << n << " pairs";
    }
  }
  EXPECT_EQ(r["least_squares"]["2"]["dim"].get<int64_t>(), 45);   // C(8 + 2, 2)
  EXPECT_EQ(r["least_squares"]["2"]["rank"].get<int64_t>(), 44);  // less ‖x‖² = 1
  EXPECT_EQ(r["least_squares"]["1"]["rank"].get<int64_t>(), 9);
  // At N = dim φ_2 (the fourth point) the window of 16 recalls better than the online rule.
  EXPECT_LT(r["streaming"]["16"][3]["relative_error"].get<double>(), r["streaming"]["1"][3]["relative_error"].get<double>());
  // Depth adds capacity: on the same φ_1 features (rank 9), a depth-2 memory stores 23 pairs
  // exactly, recalls better than the linear memory at every size, and better than the linear
  // memory on φ_2 with about as many weights once that one is past its rank.
  const auto& linear = r["depth"]["linear on φ_1"]["curve"];
  nlohmann::json curve;
  for (const auto& [name, memory] : r["depth"].items())
    if (memory["depth"].get<int64_t>() == 2) curve = memory["curve"];
  ASSERT_EQ(curve.size(), linear.size());
  const auto& quadratic = r["depth"]["linear on φ_2"]["curve"];  // about as many weights as the depth-2 memory
  for (size_t i = 0; i < curve.size(); ++i) {
    const int64_t n = curve[i]["pairs"].get<int64_t>();
    const double err = curve[i]["relative_error"].get<double>();
    if (n <= 23) {
      EXPECT_LT(err, 1e-3) << n << " pairs";
    }
    EXPECT_LT(err, linear[i]["relative_error"].get<double>()) << n << " pairs";
    if (n > 44) {
      EXPECT_LT(err, quadratic[i]["relative_error"].get<double>()) << n << " pairs, past φ_2's rank";
    }
  }
  // Needle survival: a linear memory's updates on haystack keys never reach an orthogonal needle
  // key, for GD and for Newton–Schulz of a single gradient; with momentum, Newton–Schulz blows the
  // needle's decaying gradient back up to full size and rewrites it.
  for (const char* rule : {"GD", "Muon θ = 0"}) {
    const auto& curve = r["needle"]["linear"][rule]["0.300"]["curve"];
    for (const auto& point : curve)
      EXPECT_NEAR(point["relative_error"].get<double>(), curve[0]["relative_error"].get<double>(), 1e-9) << rule;
  }
  const auto& momentum = r["needle"]["linear"]["Muon θ = 0.9"]["0.300"]["curve"];
  EXPECT_GT(momentum.back()["relative_error"].get<double>(), 2 * momentum[0]["relative_error"].get<double>());
  // The optimisers on the global objective: below φ_2's rank (23 pairs) the fit is well posed, and
  // momentum and Muon at their best step sizes get close to exact recall in 100 full-batch steps.
  for (const char* name : {"momentum", "Muon k = 5"}) {
    const auto& curve = r["optimisers"]["23"][name]["curve"];
    EXPECT_LT(curve.back()["relative_error"].get<double>(), 1e-2) << name;
    EXPECT_LT(curve.back()["relative_error"].get<double>(), curve[0]["relative_error"].get<double>()) << name;
  }
}

}  // namespace
}  // namespace engram
