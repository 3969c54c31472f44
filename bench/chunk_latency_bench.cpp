// Per-chunk latency of the policy samplers at the CPU size of RTC spec §12.3 (C = 128, hidden 256,
// token hidden 32, 3 blocks, H = 8, n = 5): plain Euler sampling against RTC (soft mask, one VJP per
// step) and BID (8 strong + 8 weak candidates, K = 3) at batch 1 — the spec expects RTC ≈ 3× plain
// (15 vs 5 forward-equivalents), BID 80 — and at the evaluation batch of 128; each on LibTorch
// (runtime 0, the reference) and on engram's dispatcher-free runtime (runtime 1, runtime/
// mixer_velocity.h). Run with one thread, as the evaluation and the real-time runner do:
//
//   ENGRAM_TORCH_THREADS=1 build/chunk_latency_bench
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "engram/policy/bid.h"
#include "engram/policy/mixer_policy.h"
#include "engram/policy/sampling.h"
#include "engram/runtime/mixer_velocity.h"

namespace {

// args: batch, method (0 plain, 1 RTC, 2 BID), runtime (0 LibTorch, 1 engram)
void Chunk(benchmark::State& state) {
  const int64_t B = state.range(0);
  torch::set_num_threads(1);
  torch::manual_seed(0);
  engram::MixerPolicyConfig c;
  c.obs_dim = 9;
  c.action_dim = 2;
  engram::MixerPolicy torch_policy(c), torch_weak(c);
  engram::MixerVelocity fast_policy(torch_policy), fast_weak(torch_weak);
  engram::FlowPolicy& policy = state.range(2) ? static_cast<engram::FlowPolicy&>(fast_policy) : torch_policy;
  engram::FlowPolicy& weak = state.range(2) ? static_cast<engram::FlowPolicy&>(fast_weak) : torch_weak;
  const auto obs = torch::randn({B, 9}), noise = torch::randn({B, 8, 2}), prev = torch::randn({B, 7, 2});
  const auto candidates = torch::randn({B, 8, 8, 2}), target = torch::cat({prev, torch::zeros({B, 1, 2})}, 1);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    torch::Tensor a;
    if (state.range(1) == 0) a = engram::sample_chunk(policy, obs, noise, 5);
    if (state.range(1) == 1) a = engram::rtc_sample_chunk(policy, obs, noise, prev, 1, 1, engram::RtcOptions{});
    if (state.range(1) == 2) a = engram::bid_sample_chunk(policy, &weak, obs, candidates, target, 1, 1, engram::BidOptions{});
    benchmark::DoNotOptimize(a.data_ptr());
  }
  state.SetItemsProcessed(state.iterations() * B);
  state.counters["MFLOP_per_sample_fwd"] = torch_policy.flops_per_sample() / 1e6;
}

BENCHMARK(Chunk)
    ->ArgNames({"batch", "method", "runtime"})
    ->ArgsProduct({{1, 128}, {0, 1, 2}, {0, 1}})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
