#include "engram/policy/delay_harness.h"

#include <chrono>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/sampling.h"
#include "engram/sim/env.h"
#include "engram/sim/expert_report.h"

namespace engram {

namespace {

// Initial noise for episode e's k-th chunk: the same under every method.
torch::Tensor chunk_noise(uint64_t seed, int64_t episode, int64_t call, int64_t H, int64_t M) {
  auto gen = at::detail::createCPUGenerator(seed * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(episode) << 20) ^
                                            static_cast<uint64_t>(call));
  return torch::randn({1, H, M}, gen, torch::kFloat32);
}

}  // namespace

DelayEvalResult evaluate_under_delay(FlowPolicy& policy, const DelayEvalOptions& o) {
  const int64_t H = policy.horizon(), M = policy.action_dim();
  if (o.shift < 1 || o.delay < 0 || o.delay > o.shift || o.shift > H - o.delay)
    throw Error("policy eval: need d ≤ s ≤ H − d (got d = " + std::to_string(o.delay) + ", s = " + std::to_string(o.shift) +
                ", H = " + std::to_string(H) + ")");
  if (o.method != "naive" && o.method != "rtc" && o.method != "rtc-hard")
    throw Error("policy eval: unknown method '" + o.method + "' (naive, rtc, rtc-hard)");
  auto model = std::make_shared<const SimModel>(make_sim_task(o.task));
  if (model->obs_dim() != policy.obs_dim() || model->action_dim() != M)
    throw Error("policy eval: the policy takes " + std::to_string(policy.obs_dim()) + "-D observations and " + std::to_string(M) +
                "-D actions; task " + o.task + " has " + std::to_string(model->obs_dim()) + " and " +
                std::to_string(model->action_dim()));
  RtcOptions rtc;
  rtc.steps = o.steps;
  rtc.beta = o.beta;
  rtc.schedule = o.method == "rtc-hard" ? "zeros" : "exp";
  torch::NoGradGuard no_grad;  // RTC's guidance turns autograd back on for itself
  const auto t0 = std::chrono::steady_clock::now();
  DelayEvalResult result;
  for (int64_t first = 0; first < o.episodes; first += o.batch) {
    const int64_t B = std::min(o.batch, o.episodes - first);
    std::vector<std::unique_ptr<Env>> envs;
    auto obs = torch::empty({B, policy.obs_dim()});
    for (int64_t b = 0; b < B; ++b) {
      envs.push_back(std::make_unique<Env>(model));
      const auto o0 = envs.back()->reset(o.seed * 1000003ull + static_cast<uint64_t>(first + b));
      auto obs_row = obs.accessor<float, 2>()[b];
      for (int64_t i = 0; i < policy.obs_dim(); ++i) obs_row[i] = static_cast<float>(o0[static_cast<size_t>(i)]);
    }
    auto noise_for = [&](const std::vector<int64_t>& rows, int64_t call) {
      std::vector<torch::Tensor> n;
      for (int64_t b : rows) n.push_back(chunk_noise(o.seed, first + b, call, H, M));
      return torch::cat(n, 0);
    };
    std::vector<int64_t> all(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) all[static_cast<size_t>(b)] = b;
    // The first chunk comes without delay from o_0; it is A_prev for the first loop, as in the paper's code.
    auto prev = sample_chunk(policy, obs, noise_for(all, 0), o.steps);
    ++result.policy_calls;
    const int64_t loops = (SimModel::kMaxSteps + o.shift - 1) / o.shift;
    for (int64_t k = 1; k <= loops; ++k) {
      std::vector<int64_t> alive;
      for (int64_t b = 0; b < B; ++b)
        if (!envs[static_cast<size_t>(b)]->done()) alive.push_back(b);
      if (alive.empty()) break;
      const auto rows = torch::tensor(alive, torch::kLong);
      const auto obs_a = obs.index_select(0, rows), prev_a = prev.index_select(0, rows), noise = noise_for(alive, k);
      torch::Tensor next_a = o.method == "naive" ? sample_chunk(policy, obs_a, noise, o.steps)
                                                 : rtc_sample_chunk(policy, obs_a, noise, prev_a.slice(1, 0, H - o.shift), o.delay,
                                                                    o.shift, rtc);
      ++result.policy_calls;
      auto next = torch::zeros_like(prev);
      next.index_copy_(0, rows, next_a);
      // Execute the d actions the old chunk still owns, then the new chunk's d … s − 1.
      const auto old_chunk = prev.accessor<float, 3>(), new_chunk = next.accessor<float, 3>();
      for (int64_t b : alive) {
        auto& env = *envs[static_cast<size_t>(b)];
        for (int64_t i = 0; i < o.shift && !env.done(); ++i) {
          std::vector<double> a(static_cast<size_t>(M));
          for (int64_t m = 0; m < M; ++m) a[static_cast<size_t>(m)] = i < o.delay ? old_chunk[b][i][m] : new_chunk[b][i][m];
          if (o.on_action) o.on_action(first + b, env.steps(), a);
          const auto r = env.step(a);
          if (r.done) result.successes += r.success ? 1 : 0;
        }
        const auto ob = env.observe();
        auto obs_row = obs.accessor<float, 2>()[b];
        for (int64_t i = 0; i < policy.obs_dim(); ++i) obs_row[i] = static_cast<float>(ob[static_cast<size_t>(i)]);
      }
      // A_prev ← A_new[s:H] followed by s zero rows.
      prev = torch::cat({next.slice(1, o.shift), torch::zeros({B, o.shift, M})}, 1);
    }
    result.episodes += B;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::tie(result.wilson_low, result.wilson_high) = wilson_interval(static_cast<int>(result.successes), static_cast<int>(result.episodes));
  return result;
}

}  // namespace engram
