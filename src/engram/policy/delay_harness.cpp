#include "engram/policy/delay_harness.h"

#include <algorithm>
#include <chrono>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/core/stats.h"
#include "engram/policy/bid.h"
#include "engram/policy/sampling.h"
#include "engram/policy/temporal_ensemble.h"
#include "engram/sim/env.h"

namespace engram {

namespace {

// Initial noise for episode e's k-th chunk: the same under every method (BID draws N from the
// same stream).
torch::Tensor chunk_noise(uint64_t seed, int64_t episode, int64_t call, int64_t N, int64_t H, int64_t M) {
  auto gen = at::detail::createCPUGenerator(seed * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(episode) << 20) ^
                                            static_cast<uint64_t>(call));
  return torch::randn({N, H, M}, gen, torch::kFloat32);
}

}  // namespace

const Names<ChunkMethod>& names_of(ChunkMethod) {
  static const Names<ChunkMethod> names = {{"naive", ChunkMethod::kNaive}, {"rtc", ChunkMethod::kRtc},
                                           {"rtc-hard", ChunkMethod::kRtcHard}, {"bid", ChunkMethod::kBid},
                                           {"te", ChunkMethod::kTe}, {"sync", ChunkMethod::kSync}};
  return names;
}

DelayEvalResult evaluate_under_delay(FlowPolicy& policy, const DelayEvalOptions& o) {
  const int64_t H = policy.horizon(), M = policy.action_dim();
  if (o.shift < 1 || o.delay < 0 || o.delay > o.shift || o.shift > H - o.delay)
    throw Error("policy eval: need d ≤ s ≤ H − d (got d = " + std::to_string(o.delay) + ", s = " + std::to_string(o.shift) +
                ", H = " + std::to_string(H) + ")");
  const ChunkMethod method = o.method;
  if (method == ChunkMethod::kBid && o.bid_contrast > 0 && !o.weak)
    throw Error("policy eval: BID's forward contrast (K = " + std::to_string(o.bid_contrast) + ") needs a weak checkpoint");
  if (o.weak && (o.weak->horizon() != H || o.weak->action_dim() != M || o.weak->obs_dim() != policy.obs_dim()))
    throw Error("policy eval: the weak checkpoint's shapes differ from the policy's");
  const auto world = open_world(o.task);
  if (world->obs_dim() != policy.obs_dim() || world->action_dim() != M)
    throw Error("policy eval: the policy takes " + std::to_string(policy.obs_dim()) + "-D observations and " + std::to_string(M) +
                "-D actions; task " + o.task + " has " + std::to_string(world->obs_dim()) + " and " +
                std::to_string(world->action_dim()));
  RtcOptions rtc;
  rtc.steps = o.steps;
  rtc.beta = o.beta;
  rtc.schedule = method == ChunkMethod::kRtcHard ? MaskSchedule::kZeros : MaskSchedule::kExp;
  if (method == ChunkMethod::kBid && (o.bid_samples < 1 || o.bid_contrast < 0 || o.bid_contrast > o.bid_samples))
    throw Error("policy eval: BID needs 0 ≤ K ≤ N and N ≥ 1 (got K = " + std::to_string(o.bid_contrast) + ", N = " +
                std::to_string(o.bid_samples) + ")");
  // Synchronous execution's pause (spec §6.1): motors and thrusters off, the world keeps moving.
  std::vector<double> neutral(static_cast<size_t>(M));
  for (size_t m = 0; m < neutral.size(); ++m) neutral[m] = std::clamp(0.0, world->bounds().low[m], world->bounds().high[m]);
  BidOptions bid;
  bid.contrast = o.bid_contrast;
  bid.steps = o.steps;
  torch::NoGradGuard no_grad;  // RTC's guidance turns autograd back on for itself
  const auto t0 = std::chrono::steady_clock::now();
  DelayEvalResult result;
  for (int64_t first = 0; first < o.episodes; first += o.batch) {
    const int64_t B = std::min(o.batch, o.episodes - first);
    std::vector<std::unique_ptr<Env>> envs;
    auto obs = torch::empty({B, policy.obs_dim()});
    for (int64_t b = 0; b < B; ++b) {
      envs.push_back(world->make_env());
      const auto o0 = envs.back()->reset(o.seed * 1000003ull + static_cast<uint64_t>(first + b));
      auto obs_row = obs.accessor<float, 2>()[b];
      for (int64_t i = 0; i < policy.obs_dim(); ++i) obs_row[i] = static_cast<float>(o0[static_cast<size_t>(i)]);
    }
    auto noise_for = [&](const std::vector<int64_t>& rows, int64_t call, int64_t N) {  // [rows, N, H, M]
      std::vector<torch::Tensor> n;
      for (int64_t b : rows) n.push_back(chunk_noise(o.seed, first + b, call, N, H, M).unsqueeze(0));
      return torch::cat(n, 0);
    };
    std::vector<int64_t> all(static_cast<size_t>(B));
    for (int64_t b = 0; b < B; ++b) all[static_cast<size_t>(b)] = b;
    // The first chunk comes without delay from o_0; it is A_prev for the first loop, as in the paper's code.
    auto prev = sample_chunk(policy, obs, noise_for(all, 0, 1).squeeze(1), o.steps);
    ++result.policy_calls;
    TemporalEnsemble ensemble(o.te_decay);
    if (method == ChunkMethod::kTe) ensemble.add(prev, 0, 0);
    const int64_t loops = (world->max_steps() + o.shift - 1) / o.shift;
    for (int64_t k = 1; k <= loops; ++k) {
      std::vector<int64_t> alive;
      for (int64_t b = 0; b < B; ++b)
        if (!envs[static_cast<size_t>(b)]->done()) alive.push_back(b);
      if (alive.empty()) break;
      const auto rows = torch::tensor(alive, torch::kLong);
      const auto obs_a = obs.index_select(0, rows), prev_a = prev.index_select(0, rows);
      torch::Tensor next_a;
      if (method == ChunkMethod::kNaive || method == ChunkMethod::kTe || method == ChunkMethod::kSync) {
        next_a = sample_chunk(policy, obs_a, noise_for(alive, k, 1).squeeze(1), o.steps);
      } else if (method == ChunkMethod::kBid) {
        next_a = bid_sample_chunk(policy, o.weak, obs_a, noise_for(alive, k, o.bid_samples), prev_a, o.delay, o.shift, bid);
      } else {
        next_a = rtc_sample_chunk(policy, obs_a, noise_for(alive, k, 1).squeeze(1), prev_a.slice(1, 0, H - o.shift), o.delay,
                                  o.shift, rtc);
      }
      ++result.policy_calls;
      auto next = torch::zeros_like(prev);
      next.index_copy_(0, rows, next_a);
      const int64_t tick0 = (k - 1) * o.shift;  // every live environment has run exactly this many ticks
      if (method == ChunkMethod::kTe) {
        ensemble.add(next, tick0, tick0 + o.delay);
        ensemble.forget_before(tick0);
      }
      // Execute the d actions the old chunk still owns, then the new chunk's d … s − 1. Synchronous
      // execution instead waits d ticks with the neutral action, then runs the new chunk's 0 … s − 1.
      const auto old_chunk = prev.accessor<float, 3>(), new_chunk = next.accessor<float, 3>();
      const int64_t ticks = method == ChunkMethod::kSync ? o.delay + o.shift : o.shift;
      for (int64_t b : alive) {
        auto& env = *envs[static_cast<size_t>(b)];
        for (int64_t i = 0; i < ticks && !env.done(); ++i) {
          std::vector<double> a(static_cast<size_t>(M));
          if (method == ChunkMethod::kTe) {
            a = ensemble.action(b, tick0 + i);
          } else if (method == ChunkMethod::kSync) {
            for (int64_t m = 0; m < M; ++m)
              a[static_cast<size_t>(m)] = i < o.delay ? neutral[static_cast<size_t>(m)] : new_chunk[b][i - o.delay][m];
          } else {
            for (int64_t m = 0; m < M; ++m) a[static_cast<size_t>(m)] = i < o.delay ? old_chunk[b][i][m] : new_chunk[b][i][m];
          }
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
  std::tie(result.wilson_low, result.wilson_high) = wilson_interval(result.successes, result.episodes);
  return result;
}

}  // namespace engram
