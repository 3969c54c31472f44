#include "engram/sim/sim_bench.h"

#include <chrono>
#include <random>

#include "engram/sim/mppi.h"
#include "engram/sim/vec_env.h"

namespace engram {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Policy steps per second for a batch of n environments on `threads` threads, random actions,
// finished environments reset in place.
double steps_per_second(const std::shared_ptr<const SimModel>& model, int n, int threads, double seconds) {
  VecEnv vec(model, n, threads);
  std::vector<uint64_t> seeds(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) seeds[static_cast<size_t>(i)] = static_cast<uint64_t>(i);
  vec.reset(seeds);
  std::mt19937_64 rng(0);
  const auto& b = model->bounds();
  const int A = model->action_dim();
  std::vector<double> actions(static_cast<size_t>(n * A));
  int64_t steps = 0;
  const auto t0 = Clock::now();
  while (since(t0) < seconds) {
    for (int i = 0; i < n * A; ++i) actions[static_cast<size_t>(i)] = std::uniform_real_distribution<double>(b.low[i % A], b.high[i % A])(rng);
    vec.step(actions);
    steps += n;
    for (int i = 0; i < n; ++i)
      if (vec.env(i).done()) vec.env(i).reset(static_cast<uint64_t>(steps + i));
  }
  return static_cast<double>(steps) / since(t0);
}

}  // namespace

nlohmann::json bench_sim(const std::string& task, double seconds) {
  auto model = std::make_shared<const SimModel>(make_sim_task(task));
  nlohmann::json out = {{"task", task}};
  const double single = steps_per_second(model, 1, 1, seconds);
  const double batch1 = steps_per_second(model, 128, 1, seconds);
  const double batch2 = steps_per_second(model, 128, 2, seconds);
  out["env_steps_per_s_single"] = single;
  out["env_steps_per_s_batch128_1thread"] = batch1;
  out["env_steps_per_s_batch128_2threads"] = batch2;
  out["batch2_over_single"] = batch2 / single;
  // The expert (style 0) from the start state, re-planning each step as in data collection.
  MujocoEnv env(model);
  MppiExpert expert(model, expert_styles(model->task())[0].mppi);
  env.reset(0);
  expert.reset(0);
  int64_t plans = 0;
  const auto t0 = Clock::now();
  while (since(t0) < seconds) {
    env.step(expert.act(env.data()));
    ++plans;
    if (env.done()) env.reset(static_cast<uint64_t>(plans)), expert.reset(static_cast<uint64_t>(plans));
  }
  const double ms = 1e3 * since(t0) / static_cast<double>(plans);
  out["expert_ms_per_step"] = ms;
  out["expert_real_time_factor"] = (1000.0 / 30.0) / ms;
  return out;
}

}  // namespace engram
