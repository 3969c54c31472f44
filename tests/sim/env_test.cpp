// The simulation contract of issue 5: deterministic episodes, exact save/restore, role contacts that
// end episodes, actuation noise of the stated size, and clear errors for bad actions and names.
#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "engram/core/error.h"
#include "engram/sim/mujoco_env.h"
#include "engram/sim/vec_env.h"

namespace engram {
namespace {

std::shared_ptr<const SimModel> model_of(const std::string& task) { return std::make_shared<const SimModel>(make_sim_task(task)); }

// Random actions within the bounds, from their own stream.
std::vector<double> random_action(const SimModel& m, std::mt19937_64& rng) {
  std::vector<double> a(static_cast<size_t>(m.action_dim()));
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::uniform_real_distribution<double>(m.bounds().low[i], m.bounds().high[i])(rng);
  return a;
}

std::vector<double> rollout(MujocoEnv& env, uint64_t seed, int steps, uint64_t action_seed) {
  std::vector<double> trace = env.reset(seed);
  std::mt19937_64 rng(action_seed);
  for (int t = 0; t < steps && !env.done(); ++t) {
    env.step(random_action(env.sim(), rng));
    const auto obs = env.observe();
    trace.insert(trace.end(), obs.begin(), obs.end());
  }
  return trace;
}

TEST(SimEnv, EveryTaskCompilesWithItsStatedDimensions) {
  const std::map<std::string, std::pair<int, int>> dims = {
      {"slalom", {4, 2}}, {"cartpole_thrust", {9, 2}}, {"lander", {9, 2}}, {"unicycle", {10, 1}}, {"chain_lander", {22, 2}}};
  for (const auto& name : sim_task_names()) {
    auto m = model_of(name);
    EXPECT_EQ(m->obs_dim(), dims.at(name).first) << name;
    EXPECT_EQ(m->action_dim(), dims.at(name).second) << name;
    MujocoEnv env(m);
    const auto obs = env.reset(0);
    ASSERT_EQ(static_cast<int>(obs.size()), m->obs_dim());
    for (double v : obs) EXPECT_TRUE(std::isfinite(v)) << name;
  }
}

TEST(SimEnv, SameSeedSameEpisodeBitForBitAndSeedsDiffer) {
  for (const auto& name : sim_task_names()) {
    auto m = model_of(name);
    MujocoEnv a(m), b(m);
    const auto ta = rollout(a, 7, 120, 99), tb = rollout(b, 7, 120, 99), tc = rollout(b, 8, 120, 99);
    ASSERT_EQ(ta.size(), tb.size()) << name;
    EXPECT_EQ(0, std::memcmp(ta.data(), tb.data(), ta.size() * sizeof(double))) << name;
    EXPECT_NE(ta, tc) << name << ": the noise seed should change the episode";
  }
}

TEST(SimEnv, SaveLoadRestoresTheExactState) {
  for (const auto& name : sim_task_names()) {
    auto m = model_of(name);
    MujocoEnv env(m);
    env.reset(3);
    std::mt19937_64 rng(5);
    for (int t = 0; t < 10 && !env.done(); ++t) env.step(random_action(*m, rng));
    const auto saved = env.save();
    std::vector<std::vector<double>> actions;
    for (int t = 0; t < 30; ++t) actions.push_back(random_action(*m, rng));
    auto play = [&] {
      std::vector<double> trace;
      for (const auto& a : actions) {
        if (env.done()) break;
        env.step(a);
        const auto obs = env.observe();
        trace.insert(trace.end(), obs.begin(), obs.end());
      }
      return trace;
    };
    const auto first = play();
    env.load(saved);
    const auto second = play();
    ASSERT_EQ(first.size(), second.size()) << name;
    EXPECT_EQ(0, std::memcmp(first.data(), second.data(), first.size() * sizeof(double))) << name;
  }
}

TEST(SimEnv, PositionsAndContactsDescribeTheStateAfterTheStep) {
  auto m = model_of("slalom");
  MujocoEnv env(m);
  env.reset(0);
  const int ball = mj_name2id(m->model(), mjOBJ_GEOM, "green_ball");
  for (int t = 0; t < 5; ++t) {
    env.step({1.0, 0.5});
    EXPECT_EQ(env.data()->geom_xpos[3 * ball], env.data()->qpos[0] + 0.6);  // not the position a substep ago
    EXPECT_EQ(env.data()->geom_xpos[3 * ball + 2], env.data()->qpos[1] + 2.5);
  }
}

TEST(SimEnv, RedContactFailsAndBlueContactSucceeds) {
  auto m = model_of("slalom");
  MujocoEnv env(m);
  env.reset(0);
  StepResult r;
  while (!env.done()) r = env.step({1.0, 0.0});  // straight into the red block
  EXPECT_FALSE(r.success);
  EXPECT_EQ(r.reward, -1.0);
  EXPECT_LT(env.steps(), SimModel::kMaxSteps);

  // A scripted pilot over the block: climb to z = 4, cross, then aim at the strip.
  auto obs = env.reset(0);
  while (!env.done()) {
    const double tx = obs[0] < 2.9 ? (obs[1] > 3.7 ? 4.0 : obs[0]) : 4.9, tz = obs[0] < 2.9 ? 4.1 : 3.0;
    r = env.step({std::clamp(2.0 * (tx - obs[0]) - 1.5 * obs[2], -1.0, 1.0), std::clamp(2.0 * (tz - obs[1]) - 1.5 * obs[3], -1.0, 1.0)});
    obs = env.observe();
  }
  EXPECT_TRUE(r.success);
  EXPECT_EQ(r.reward, 1.0);
}

TEST(SimEnv, DivergedPhysicsEndsTheEpisodeAsAFailure) {
  auto m = model_of("chain_lander");
  MujocoEnv env(m);
  env.reset(0);
  auto state = env.save();
  state.data->qvel[0] = std::numeric_limits<double>::infinity();  // MuJoCo resets such a state
  env.load(state);
  const auto r = env.step(std::vector<double>(static_cast<size_t>(m->action_dim()), 0.5));
  EXPECT_TRUE(r.unstable);
  EXPECT_TRUE(r.done);
  EXPECT_FALSE(r.success);
  EXPECT_EQ(-1, r.reward);
  std::mt19937_64 rng(1);  // ordinary actions never trip it
  env.reset(0);
  while (!env.done()) EXPECT_FALSE(env.step(random_action(*m, rng)).unstable);
}

TEST(SimEnv, EpisodesTimeOutAfter256Steps) {
  auto m = model_of("slalom");
  MujocoEnv env(m);
  env.reset(1);
  int steps = 0;
  // Hold still against the noise with a stiff controller around the start.
  auto obs = env.observe();
  while (!env.done()) {
    env.step({std::clamp(-2.0 * (obs[0] - 0.6) - obs[2], -1.0, 1.0), std::clamp(-2.0 * (obs[1] - 2.5) - obs[3], -1.0, 1.0)});
    obs = env.observe();
    ++steps;
  }
  EXPECT_EQ(steps, SimModel::kMaxSteps);
  EXPECT_THROW(env.step({0.0, 0.0}), Error);
}

TEST(SimEnv, ActuationNoiseHasTheStatedSpread) {
  auto m = model_of("slalom");
  MujocoEnv env(m);
  double sum = 0, sum2 = 0;
  int n = 0;
  for (uint64_t seed = 0; seed < 4; ++seed) {
    env.reset(seed);
    for (int t = 0; t < 100 && !env.done(); ++t) {
      env.step({0.0, 0.0});
      for (double v : env.executed_action()) {
        sum += v;
        sum2 += v * v;
        ++n;
      }
    }
  }
  const double mean = sum / n, sd = std::sqrt(sum2 / n - mean * mean);
  EXPECT_NEAR(mean, 0.0, 0.02);
  EXPECT_NEAR(sd, 0.1, 0.012);
}

TEST(SimEnv, BatchedSteppingEqualsSeparateEnvironments) {
  auto m = model_of("lander");
  const int n = 5;
  VecEnv vec(m, n, 2);
  std::vector<std::unique_ptr<MujocoEnv>> solo;
  std::vector<uint64_t> seeds;
  for (int i = 0; i < n; ++i) {
    solo.push_back(std::make_unique<MujocoEnv>(m));
    solo.back()->reset(static_cast<uint64_t>(10 + i));
    seeds.push_back(static_cast<uint64_t>(10 + i));
  }
  vec.reset(seeds);
  std::mt19937_64 rng(1);
  for (int t = 0; t < 300; ++t) {
    std::vector<double> actions;
    for (int i = 0; i < n; ++i) {
      const auto a = random_action(*m, rng);
      actions.insert(actions.end(), a.begin(), a.end());
      if (!solo[static_cast<size_t>(i)]->done()) solo[static_cast<size_t>(i)]->step(a);
    }
    const auto results = vec.step(actions);
    for (int i = 0; i < n; ++i) EXPECT_EQ(results[static_cast<size_t>(i)].done, solo[static_cast<size_t>(i)]->done());
  }
  std::vector<double> expect;
  for (const auto& e : solo) {
    const auto o = e->observe();
    expect.insert(expect.end(), o.begin(), o.end());
  }
  EXPECT_EQ(vec.observe(), expect);
  EXPECT_THROW(vec.step(std::vector<double>(3, 0.0)), Error);
}

TEST(SimEnv, BadActionsAndNamesAreClearErrors) {
  auto m = model_of("lander");
  MujocoEnv env(m);
  env.reset(0);
  try {
    env.step({0.5});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("1 dimensions, the task takes 2"), std::string::npos) << e.what();
  }
  try {
    env.step({0.5, std::nan("")});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("action[1] is not finite"), std::string::npos) << e.what();
  }
  try {
    make_sim_task("hopper");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown task 'hopper'"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("chain_lander"), std::string::npos);
  }
}

}  // namespace
}  // namespace engram
