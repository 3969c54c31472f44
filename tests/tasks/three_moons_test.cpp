#include <gtest/gtest.h>

#include <filesystem>

#include "engram/tasks/three_moons.h"
#include "engram/experiments/three_moons_experiment.h"
#include "support/temp_dir.h"

namespace engram {
namespace {

TEST(ThreeMoons, SystemsAreTheSpecsNine) {
  const auto s = moon_systems();
  ASSERT_EQ(s.train.size(), 8u);
  EXPECT_EQ(s.held_out, (MoonPeriods{1, 1.5, 2}));
  EXPECT_EQ(s.train.front(), (MoonPeriods{0.5, 1, 2}));  // L = 2, the shortest
  EXPECT_DOUBLE_EQ(joint_period(s.train.front()), 2.0);
  EXPECT_DOUBLE_EQ(joint_period({0.5, 1, 2.5}), 5.0);
  EXPECT_DOUBLE_EQ(joint_period(s.held_out), 6.0);
  // The L = 6 ties keep the two lexicographically first ones before the held-out system.
  EXPECT_EQ(s.train[6], (MoonPeriods{0.5, 1.5, 2}));
  EXPECT_EQ(s.train[7], (MoonPeriods{0.5, 2, 3}));
}

TEST(ThreeMoons, ObservationsAreOnUnitCirclesAndRepeatAfterThreeJointPeriods) {
  auto obs = moon_observations({1, 1.5, 2}, 123, 900);
  auto radius = obs.view({900, 3, 2}).square().sum(-1);
  EXPECT_TRUE(torch::allclose(radius, torch::ones_like(radius), 1e-5, 1e-5));
  // 3 joint periods of (1, 1.5, 2) = 18 time units = 800 steps exactly.
  EXPECT_TRUE(torch::allclose(obs.narrow(0, 0, 100), obs.narrow(0, 800, 100), 1e-4, 1e-4));
  EXPECT_FALSE(torch::allclose(obs.narrow(0, 0, 100), obs.narrow(0, 400, 100), 1e-2, 1e-2));
}

TEST(ThreeMoons, ExperimentRunsEndToEndAndLearns) {
  testing::TempDir dir;
  ThreeMoonsOptions o;
  o.out = dir.file("moons");
  o.heads = {3};
  o.steps = 40;
  o.batch = 8;
  o.block = 120;
  o.eval_sequences = 4;
  o.eval_every = 30;
  o.verbose = false;
  const auto r = run_three_moons(o);
  const auto& m = r["models"]["3"];
  EXPECT_LT(m["final_train_loss"].get<double>(), 0.5 * 0.5);  // below the clip: it fits something
  EXPECT_EQ(m["held_out"]["context"].size(), m["held_out"]["generation_error"].size());
  EXPECT_EQ(m["held_out"]["one_step_error"].size(), 120u);
  EXPECT_TRUE(std::filesystem::exists(o.out + "/results.json"));
  EXPECT_TRUE(std::filesystem::exists(o.out + "/memory-3heads.safetensors"));
}

}  // namespace
}  // namespace engram
