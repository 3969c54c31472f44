#include "engram/policy/realtime_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <thread>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "engram/core/error.h"
#include "engram/policy/delay_harness.h"
#include "engram/policy/sampling.h"
#include "engram/sim/env.h"

namespace engram {

namespace {

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

torch::Tensor to_row(const std::vector<double>& v) {
  return torch::tensor(std::vector<float>(v.begin(), v.end())).view({1, -1});
}

// The inference thread of Algorithm 1: snapshot, (pad to the injected latency,) swap; until stopped.
void inference_loop(FlowPolicy& policy, ChunkScheduler& scheduler, const RealtimeOptions& o, ChunkMethod method, at::Generator gen,
                    std::vector<double>& times_ms, std::vector<int64_t>& histogram) {
  torch::NoGradGuard no_grad;  // thread-local: RTC's guidance re-enables autograd for itself
  const int64_t H = policy.horizon(), M = policy.action_dim();
  RtcOptions rtc;
  rtc.steps = o.steps;
  rtc.beta = o.beta;
  rtc.schedule = method == ChunkMethod::kRtcHard ? MaskSchedule::kZeros : MaskSchedule::kExp;
  while (auto request = scheduler.next_request()) {
    const auto t0 = Clock::now();
    const auto noise = torch::randn({1, H, M}, gen, torch::kFloat32);
    const auto obs = to_row(request->obs);
    const int s = request->shift;
    torch::Tensor chunk;
    if (method == ChunkMethod::kNaive || s >= H) {  // s ≥ H: nothing of the old chunk is left to agree with
      chunk = sample_chunk(policy, obs, noise, o.steps);
    } else {
      // The prefix that runs during inference cannot be longer than what is left of the old chunk.
      const int d = std::min<int>(request->delay, static_cast<int>(H) - s);
      chunk = rtc_sample_chunk(policy, obs, noise, request->previous.to(torch::kFloat32).unsqueeze(0), d, s, rtc);
    }
    if (o.latency_ms > 0) std::this_thread::sleep_until(t0 + std::chrono::duration<double, std::milli>(o.latency_ms));
    times_ms.push_back(ms_since(t0));
    const int measured = scheduler.swap(chunk[0], s);
    if (static_cast<size_t>(measured) >= histogram.size()) histogram.resize(static_cast<size_t>(measured) + 1, 0);
    ++histogram[static_cast<size_t>(measured)];
  }
}

}  // namespace

RealtimeReport run_realtime(FlowPolicy& policy, const RealtimeOptions& o) {
  const int64_t H = policy.horizon();
  if (!(o.hz > 0 && o.hz <= 1000)) throw Error("policy run: --hz must be within (0, 1000]");
  const ChunkMethod method = o.method;
  if (method != ChunkMethod::kNaive && method != ChunkMethod::kRtc && method != ChunkMethod::kRtcHard)
    throw Error("policy run: method '" + name_of(method) + "' does not run in real time (naive, rtc, rtc-hard)");
  if (o.min_shift < 1 || o.min_shift > H) throw Error("policy run: s_min must be within 1…H = " + std::to_string(H));
  if (o.latency_ms < 0 || o.episodes < 1 || o.queue_length < 1 || o.steps < 1)
    throw Error("policy run: latency must be ≥ 0, episodes, queue length and Euler steps ≥ 1");
  const double tick_ms = 1000.0 / o.hz;
  const int d_init = o.initial_delay >= 0 ? o.initial_delay : static_cast<int>(std::floor(o.latency_ms / tick_ms));
  // A chunk runs s = max(d, s_min) actions before the snapshot and d more during inference.
  if (d_init + std::max(d_init, o.min_shift) > H)
    throw Error("policy run: a delay of d = " + std::to_string(d_init) + " ticks (" + c10::str(o.latency_ms) + " ms at " +
                c10::str(o.hz) + " Hz) with s_min = " + std::to_string(o.min_shift) + " needs max(d, s_min) + d ≤ H = " +
                std::to_string(H) + ", or every chunk runs out");
  const auto world = open_world(o.task);
  if (world->obs_dim() != policy.obs_dim() || world->action_dim() != policy.action_dim())
    throw Error("policy run: the policy does not fit task " + o.task);

  RealtimeReport report;
  std::vector<double> inference_ms, late_ms;
  const auto tick = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(tick_ms));
  const auto start = Clock::now();
  for (int e = 0; e < o.episodes; ++e) {
    const auto env_ptr = world->make_env();
    Env& env = *env_ptr;
    env.reset(o.seed * 1000003ull + static_cast<uint64_t>(e));
    auto gen = at::detail::createCPUGenerator(o.seed * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(e) << 20));
    torch::Tensor first;
    {  // the first chunk, computed while nothing moves: its latency does not enter the delay queue
      torch::NoGradGuard no_grad;
      const auto obs = to_row(env.observe());
      first = sample_chunk(policy, obs, torch::randn({1, H, policy.action_dim()}, gen, torch::kFloat32), o.steps);
      // Warm up the guided path too (autograd's first backward is slow), so the first measured delay
      // is a real one. Zero noise: the episode's random stream is not touched.
      if (method != ChunkMethod::kNaive) {
        RtcOptions warm;
        warm.steps = o.steps;
        rtc_sample_chunk(policy, obs, torch::zeros({1, H, policy.action_dim()}), first.slice(1, 1), 0, 1, warm);
      }
    }
    ChunkScheduler scheduler(first[0], o.min_shift, d_init, o.queue_length);
    std::exception_ptr failure;
    std::atomic<bool> failed{false};
    std::thread inference([&] {
      try {
        inference_loop(policy, scheduler, o, method, gen, inference_ms, report.delay_histogram);
      } catch (...) {
        failure = std::current_exception();
        failed = true;
      }
    });
    try {
      auto next = Clock::now();
      while (!env.done() && !failed) {
        std::this_thread::sleep_until(next);
        late_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - next).count());
        const auto action = scheduler.get_action(env.observe());
        if (o.on_tick) o.on_tick(e, env.steps(), action);
        report.underruns += action.underrun ? 1 : 0;
        const auto r = env.step(action.values);
        report.successes += r.success ? 1 : 0;
        ++report.ticks;
        // A late tick does not shift the schedule: missed ticks fire at once, so simulated time
        // keeps pace with wall-clock time (a robot would drop them instead).
        next += tick;
      }
    } catch (...) {
      scheduler.stop();
      inference.join();
      throw;
    }
    scheduler.stop();
    inference.join();
    if (failure) std::rethrow_exception(failure);
    ++report.episodes;
  }
  report.wall_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report.chunks = static_cast<int64_t>(inference_ms.size());
  if (!inference_ms.empty()) {
    for (double t : inference_ms) report.inference_ms_mean += t / static_cast<double>(inference_ms.size());
    report.inference_ms_max = *std::max_element(inference_ms.begin(), inference_ms.end());
  }
  if (!late_ms.empty()) {
    for (double t : late_ms) report.late_ms_mean += t / static_cast<double>(late_ms.size());
    std::sort(late_ms.begin(), late_ms.end());
    report.late_ms_p99 = late_ms[std::min(late_ms.size() - 1, static_cast<size_t>(0.99 * static_cast<double>(late_ms.size())))];
    report.late_ms_max = late_ms.back();
  }
  return report;
}

}  // namespace engram
