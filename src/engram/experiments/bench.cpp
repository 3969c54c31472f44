#include "engram/experiments/bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "engram/core/config.h"
#include "engram/core/error.h"
#include "engram/core/memory.h"
#include "engram/core/threads.h"
#include "engram/data/corpus.h"
#include "engram/kernels/instruction_set.h"
#include "engram/kernels/softmax_read.h"
#include "engram/policy/mixer_policy.h"
#include "engram/policy/sampling.h"
#include "engram/runtime/decoder.h"
#include "engram/runtime/mixer_velocity.h"
#include "engram/seq/generate.h"
#include "engram/seq/model.h"
#include "engram/train/adamw.h"
#include "engram/train/sequence_job.h"

namespace engram {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

std::string fmt(double x, int digits = 1) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, x);
  return buf;
}

}  // namespace

TrainSpeed measure_training(SequenceModel& model, int64_t batch, int64_t block, double seconds, int64_t min_steps) {
  torch::manual_seed(0);
  std::vector<std::pair<std::string, torch::Tensor>> named;
  for (const auto& p : model.named_parameters()) named.emplace_back(p.key(), p.value());
  AdamW opt(named, {});
  auto params = model.parameters();
  auto x = torch::randint(model.vocab_size(), {batch, block + 1}, torch::kLong);
  auto inputs = x.narrow(1, 0, block), targets = x.narrow(1, 1, block);
  auto one_step = [&] {
    auto loss = sequence_loss(model, inputs, targets, {});
    opt.zero_grad();
    loss.backward();
    clip_grad_norm(params, 1.0);
    opt.step(1e-4);
  };
  reset_peak_resident();
  one_step();
  if (min_steps > 1) one_step();
  // The median step: another process waking on one of two cores slows a few steps several-fold,
  // and the mean of a short run then says more about the neighbours than about the model.
  std::vector<double> step_seconds;
  const auto t0 = Clock::now();
  while (static_cast<int64_t>(step_seconds.size()) < min_steps || since(t0) < seconds) {
    const auto t = Clock::now();
    one_step();
    step_seconds.push_back(since(t));
  }
  std::nth_element(step_seconds.begin(), step_seconds.begin() + step_seconds.size() / 2, step_seconds.end());
  TrainSpeed s;
  s.tokens_per_second = batch * block / step_seconds[step_seconds.size() / 2];
  s.flops_per_token = 3 * model.describe().flops_per_token;
  s.peak_rss_mb = peak_resident_mb();
  return s;
}

std::vector<int64_t> random_ids(const SequenceModel& model, int64_t n) {
  const auto t = torch::randint(0, model.vocab_size(), {n}, torch::kLong);
  return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
}

double step_ms(SequenceModel& model, const std::vector<int64_t>& ids, int64_t context, int64_t reps) {
  torch::NoGradGuard no_grad;
  model.eval();
  auto state = model.init_state(1);
  auto token = [&](int64_t t) { return torch::full({1}, ids[static_cast<size_t>(t)], torch::kLong); };
  for (int64_t t = 0; t < context - 1; ++t) model.step(*state, token(t));
  const auto t0 = Clock::now();
  for (int64_t r = 0; r < reps; ++r) model.step(*state, token(context - 1 + r));
  return since(t0) * 1e3 / static_cast<double>(reps);
}

std::unique_ptr<Decoder> decoder_if_any(const SequenceModel& model) {
  return has_decoder(model) ? make_decoder(model) : nullptr;
}

double decoder_ms(Decoder& decoder, const std::vector<int64_t>& ids, int64_t context, int64_t reps) {
  decoder.reset();
  for (int64_t t = 0; t < context - 1; ++t) decoder.step(ids[static_cast<size_t>(t)]);
  const auto t0 = Clock::now();
  for (int64_t r = 0; r < reps; ++r) decoder.step(ids[static_cast<size_t>(context - 1 + r)]);
  return since(t0) * 1e3 / static_cast<double>(reps);
}

namespace {

double ms_per_generated_token(SequenceModel& model, int64_t n, bool cache) {
  SampleOptions o;
  o.max_new_tokens = n;
  o.use_cache = cache;
  o.use_runtime = false;  // LibTorch's step(), as before; the decode rows time the runtime
  o.temperature = 1.0;
  generate(model, {0}, o);  // warm-up
  const auto t0 = Clock::now();
  generate(model, {0}, o);
  return since(t0) * 1e3 / static_cast<double>(n);
}

struct DecodeTimes {
  double libtorch_ms, runtime_ms = 0;  // 0: the model has no decoder
  double state_bytes = 0;              // the decoder's caches or state at the end
};

// Batch-1 decoding at context `context`: milliseconds per token of the LibTorch step() and of the
// dispatcher-free decoder over the same tokens.
DecodeTimes decode_ms(SequenceModel& model, int64_t context) {
  const int64_t reps = 32;
  const auto ids = random_ids(model, context + reps);
  DecodeTimes times{step_ms(model, ids, context, reps)};
  if (const auto decoder = decoder_if_any(model)) {
    times.runtime_ms = decoder_ms(*decoder, ids, context, reps);
    times.state_bytes = decoder->state_bytes();
  }
  return times;
}

// One new token at context `context`: step() on a state that holds context − 1 tokens, against
// re-running the model on the whole window (what generation without a cache pays per token).
std::pair<double, double> step_vs_window_ms(SequenceModel& model, int64_t context) {
  const int64_t reps = 8;
  const auto ids = random_ids(model, context + reps);
  const double step = step_ms(model, ids, context, reps);
  torch::NoGradGuard no_grad;
  const auto tokens = torch::tensor(ids, torch::kLong).unsqueeze(0);
  model.forward(tokens.narrow(1, 0, context));  // warm-up
  const auto t0 = Clock::now();
  for (int64_t r = 0; r < reps; ++r) model.forward(tokens.narrow(1, r, context));
  return {step, since(t0) * 1e3 / reps};
}

// ms per action chunk (5 Euler steps, batch 1) of plain or RTC sampling, at the RTC spec's CPU size
// (§12.3: C = 128, hidden 256, token hidden 32, 3 blocks, H = 8), averaged over `seconds`.
double chunk_ms(FlowPolicy& policy, bool rtc, double seconds) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(0);
  const auto obs = torch::randn({1, policy.obs_dim()}), noise = torch::randn({1, policy.horizon(), policy.action_dim()});
  const auto previous = torch::randn({1, policy.horizon() - 1, policy.action_dim()});
  auto chunk = [&] { return rtc ? rtc_sample_chunk(policy, obs, noise, previous, 1, 1, RtcOptions{}) : sample_chunk(policy, obs, noise, 5); };
  chunk();
  const auto t0 = Clock::now();
  int64_t reps = 0;
  while (reps < 5 || since(t0) < seconds) {
    chunk();
    ++reps;
  }
  return 1e3 * since(t0) / static_cast<double>(reps);
}

std::string bench_text() {
  std::string text;
  for (const char* f : {"/usr/share/common-licenses/GPL-3", "/usr/share/common-licenses/Apache-2.0",
                        "/usr/share/common-licenses/GFDL-1.3", "/usr/share/common-licenses/MPL-2.0"}) {
    std::ifstream in(f);
    std::stringstream s;
    s << in.rdbuf();
    text += s.str();
  }
  return text;
}

}  // namespace

void read_bench_config(const std::string& path, BenchOptions& options) {
  const nlohmann::json file = read_config_file(path);  // ConfigObject keeps a reference
  ConfigObject c(file, "");
  options.model = c.object("model");
  options.batch_size = c.integer("batch", options.batch_size, 1, 4096);
  options.block_size = c.integer("block", options.block_size, 1, 65536);
  c.finish();
}

std::vector<TableRow> run_bench(const BenchOptions& o, nlohmann::json& record) {
  std::vector<TableRow> rows;
  const auto policy = current_thread_policy();
  const auto blas = detect_blas();
  const double peak = measure_matmul_gflops(1024, 1.5);
  rows.push_back({"matmul 1024² fp32", fmt(peak), "GFLOP/s", blas.vendor + ", torch " + std::to_string(policy.torch_threads) +
                  " / BLAS " + std::to_string(policy.blas_threads) + " threads; kernels " + kernel_instruction_set()});
  record["matmul_gflops"] = peak;
  record["blas"] = blas.vendor;
  record["kernels"] = kernel_instruction_set();

  nlohmann::json cfg = {{"type", "transformer"}, {"vocab_size", 4096}, {"n_layer", 4}, {"n_head", 4},
                        {"n_embd", 128}, {"block_size", o.block_size}};
  for (const auto& item : o.model.items()) cfg[item.key()] = item.value();
  auto model = make_model(cfg, "bench.model");
  const auto desc = model->describe();
  record["model"] = model->config();

  const auto train = measure_training(*model, o.batch_size, o.block_size, o.seconds);
  const double achieved = train.tokens_per_second * train.flops_per_token / 1e9;
  const std::string shape = desc.summary + ", batch " + std::to_string(o.batch_size) + "×" + std::to_string(o.block_size);
  rows.push_back({"train throughput", fmt(train.tokens_per_second, 0), "tokens/s", shape});
  rows.push_back({"train model FLOP/s", fmt(achieved), "GFLOP/s", "3 × forward FLOPs (" + fmt(train.flops_per_token / 1e6, 2) + " MFLOP/token)"});
  rows.push_back({"model FLOP utilisation", fmt(100 * achieved / peak), "%", "of the measured matmul rate"});
  record["train_tokens_per_s"] = train.tokens_per_second;
  record["train_gflops"] = achieved;
  record["mfu"] = achieved / peak;
  record["train_peak_rss_mb"] = train.peak_rss_mb;
  rows.push_back({"train peak memory", fmt(train.peak_rss_mb, 0), "MB", "the process's resident peak while training"});
  if (o.compare_kernels) {
    set_read_path(ReadPath::kComposition);
    const auto composed = measure_training(*model, o.batch_size, o.block_size, o.seconds);
    set_read_path(ReadPath::kBlocked);
    rows.push_back({"train, LibTorch composition", fmt(composed.tokens_per_second, 0), "tokens/s",
                    fmt(train.tokens_per_second / composed.tokens_per_second, 2) + "× slower than the blocked kernels; " +
                        fmt(composed.peak_rss_mb, 0) + " MB peak"});
    record["train_tokens_per_s_composition"] = composed.tokens_per_second;
    record["train_peak_rss_mb_composition"] = composed.peak_rss_mb;
  }

  const int64_t n_gen = model->max_context() > 0 ? std::min(o.generate_tokens, model->max_context() - 1) : o.generate_tokens;
  const double cached = ms_per_generated_token(*model, n_gen, true);
  const double uncached = ms_per_generated_token(*model, n_gen, false);
  const std::string gen_note = std::to_string(n_gen) + " tokens from a 1-token prompt";
  rows.push_back({"generate, KV cache", fmt(cached, 2), "ms/token", gen_note});
  rows.push_back({"generate, no cache", fmt(uncached, 2), "ms/token", "full forward per token"});
  rows.push_back({"cache speed-up", fmt(uncached / cached, 2), "×", "no cache / cache"});
  record["generate_ms_cache"] = cached;
  record["generate_ms_nocache"] = uncached;
  const int64_t context = model->max_context() > 0 ? std::min(o.block_size, model->max_context() - 8) : o.block_size;
  const auto [step_ms, window_ms] = step_vs_window_ms(*model, context);
  rows.push_back({"next token at context " + std::to_string(context), fmt(step_ms, 2), "ms", "step() with the cache/recurrent state"});
  rows.push_back({"  re-running the window", fmt(window_ms, 2), "ms", fmt(window_ms / step_ms, 1) + "× the step"});
  record["context_step_ms"] = step_ms;
  record["context_window_ms"] = window_ms;

  // decode_ms runs 32 tokens past the context: keep them inside learned positions
  const int64_t decode_context = model->max_context() > 0 ? std::min(context, model->max_context() - 40) : context;
  const auto [libtorch_ms, runtime_ms, state_bytes] = decode_ms(*model, decode_context);
  rows.push_back({"decode, LibTorch step()", fmt(libtorch_ms, 3), "ms/token", "batch 1 at context " + std::to_string(decode_context)});
  record["decode_ms_libtorch"] = libtorch_ms;
  if (runtime_ms > 0) {
    // Every weight is read once per token, and the caches or state: the decoder's traffic.
    const double bytes = 4.0 * static_cast<double>(desc.parameters) + state_bytes;
    const double gbps = bytes / (runtime_ms * 1e-3) / 1e9, copy = measure_copy_gbps(1.0);
    rows.push_back({"decode, engram runtime", fmt(runtime_ms, 3), "ms/token", fmt(libtorch_ms / runtime_ms, 1) + "× faster than step()"});
    rows.push_back({"  weights + caches or state read", fmt(gbps, 1), "GB/s", fmt(100 * gbps / copy, 0) + "% of the copy bandwidth (" + fmt(copy, 1) + " GB/s)"});
    record["decode_ms_runtime"] = runtime_ms;
    record["decode_gbps"] = gbps;
    record["copy_gbps"] = copy;
  }

  {  // one intra-op thread, as the real-time runner and the evaluation use; the runtime uses one anyway
    apply_thread_policy({1, 1});
    MixerPolicyConfig c;
    c.obs_dim = 9;
    MixerPolicy reference(c);
    {  // trained weights, not AdaLN-Zero's identity blocks (the cost is the same; the test is fairer)
      torch::NoGradGuard no_grad;
      for (auto& p : reference.parameters()) p.add_(0.05 * torch::randn_like(p));
    }
    MixerVelocity fast(reference);
    const double plain_torch = chunk_ms(reference, false, o.seconds / 2), plain_fast = chunk_ms(fast, false, o.seconds / 2);
    const double rtc_torch = chunk_ms(reference, true, o.seconds / 2), rtc_fast = chunk_ms(fast, true, o.seconds / 2);
    apply_thread_policy(policy);
    const std::string size = "batch 1, 5 Euler steps, " + fmt(reference.flops_per_sample() / 1e6, 1) + " MFLOP per forward";
    rows.push_back({"policy chunk, LibTorch", fmt(plain_torch, 3), "ms", size});
    rows.push_back({"policy chunk, engram runtime", fmt(plain_fast, 3), "ms", fmt(plain_torch / plain_fast, 1) + "× faster"});
    rows.push_back({"RTC chunk, LibTorch", fmt(rtc_torch, 3), "ms", fmt(rtc_torch / plain_torch, 1) + "× its plain chunk"});
    rows.push_back({"RTC chunk, engram runtime", fmt(rtc_fast, 3), "ms",
                    fmt(rtc_torch / rtc_fast, 1) + "× faster; " + fmt(rtc_fast / plain_fast, 1) + "× its plain chunk"});
    record["chunk_ms"] = {{"plain_libtorch", plain_torch}, {"plain_runtime", plain_fast}, {"rtc_libtorch", rtc_torch},
                          {"rtc_runtime", rtc_fast}};
  }

  try {
    Tokenizer tok = load_gpt2_tokenizer();
    const std::string text = bench_text();
    tok.copy_with_own_cache().encode(text);  // warm the regex JIT
    Tokenizer fresh = tok.copy_with_own_cache();
    const auto t0 = Clock::now();
    int64_t reps = 0;
    while (reps < 2 || since(t0) < 1.0) {
      fresh = tok.copy_with_own_cache();  // cold cache each time: the honest first-pass speed
      fresh.encode(text);
      ++reps;
    }
    const double mbs = reps * text.size() / since(t0) / 1e6;
    rows.push_back({"GPT-2 tokenizer encode", fmt(mbs), "MB/s", "cold cache, " + std::to_string(text.size() / 1000) + " kB of licence text"});
    record["tokenizer_mb_per_s"] = mbs;
  } catch (const Error& e) {
    rows.push_back({"GPT-2 tokenizer encode", "-", "", e.what()});
  }

  if (o.threads) {
    const int cores = std::max(1u, std::thread::hardware_concurrency());
    nlohmann::json table = nlohmann::json::array();
    const bool one_pool = blas_threading() == BlasThreading::openmp;  // the BLAS runs on LibTorch's threads
    for (int tt : {1, cores})
      for (int bt : {1, cores}) {
        if ((cores == 1 && (tt != 1 || bt != 1)) || (one_pool && bt != tt)) continue;
        apply_thread_policy({tt, bt});
        const double g = measure_matmul_gflops(1024, 1.0);
        const auto s = measure_training(*model, o.batch_size, o.block_size, o.seconds);
        rows.push_back({"threads torch " + std::to_string(tt) + " / BLAS " + std::to_string(bt), fmt(s.tokens_per_second, 0),
                        "tokens/s", "train; matmul " + fmt(g) + " GFLOP/s"});
        table.push_back({{"torch_threads", tt}, {"blas_threads", bt}, {"matmul_gflops", g}, {"train_tokens_per_s", s.tokens_per_second}});
      }
    apply_thread_policy(policy);
    record["threads"] = table;
  }
  return rows;
}


}  // namespace engram
